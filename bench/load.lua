-- wrk script for bench/run.py: one connection per thread (wrk -t N -c N), so each thread
-- is one client. Environment (set by run.py):
--   BENCH_METHOD  GET or POST
--   BENCH_PATHS   paths separated by newlines, cycled through ({draft} = the client's draft)
--   BENCH_HEADERS header lines "Name: value" separated by newlines
--   BENCH_FORM    POST body template; {version} = the client's draft version
--   BENCH_DRAFTS  draft ids separated by commas (client i edits draft i)
--   BENCH_VERSIONS their current versions, same order
--   BENCH_PAGES   per draft (same order, commas) its signed page ids a|b|c: {pagea} … in
--                 a path is the client's draft's (the live poll's signed editor ids)
-- done() prints one JSON line: requests, seconds, non-2xx answers, socket errors,
-- and the median and p95 latency in milliseconds.

local counter = 0
local threads = {}

local function split(text, sep)
  local parts = {}
  for part in string.gmatch(text or "", "([^" .. sep .. "]+)") do table.insert(parts, part) end
  return parts
end

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  method = os.getenv("BENCH_METHOD")
  paths = split(os.getenv("BENCH_PATHS"), "\n")
  form = os.getenv("BENCH_FORM") or ""
  local drafts = split(os.getenv("BENCH_DRAFTS"), ",")
  local versions = split(os.getenv("BENCH_VERSIONS"), ",")
  draft = drafts[((index - 1) % #drafts) + 1]
  version = tonumber(versions[((index - 1) % #drafts) + 1])
  local pages = split(os.getenv("BENCH_PAGES"), ",")
  page = {}
  if #pages > 0 then
    local mine = split(pages[((index - 1) % #pages) + 1], "|")
    page = {a = mine[1], b = mine[2], c = mine[3]}
  end
  headers = {}
  for _, line in ipairs(split(os.getenv("BENCH_HEADERS"), "\n")) do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  n = index
end

function request()
  n = n + 1
  local path = string.gsub(paths[(n % #paths) + 1], "{draft}", draft)
  path = string.gsub(path, "{page(%a)}", function(c) return page[c] end)
  local body = nil
  if method == "POST" then body = string.gsub(form, "{version}", tostring(version)) end
  return wrk.format(method, path, headers, body)
end

function response(status, response_headers, body)
  if method == "POST" and status == 200 then version = version + 1 end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non_2xx": %d, "socket_errors": %d, ' ..
    '"median_ms": %.2f, "p95_ms": %.2f}\n',
    summary.requests, seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
