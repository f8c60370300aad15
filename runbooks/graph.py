"""The depends_on graph of runbooks: dangling ids, cycles and a layered layout.

Rule: docs/rules.md#runbook-graph ("The depends_on field creates a navigable graph").
An id named in depends_on that no runbook has is dangling (ops-05 → ops-14 in the real
set); a cycle is a path that returns to where it started. Both are reported, never dropped.
"""
from dataclasses import dataclass, field

NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 190, 44, 70, 22, 16


@dataclass
class Node:
    """A runbook (or a dangling id, runbook None) placed at (x, y) in the SVG, in pixels."""

    key: str
    title: str
    runbook: object = None
    x: int = 0
    y: int = 0

    @property
    def dangling(self) -> bool:
        return self.runbook is None


@dataclass
class Graph:
    """nodes by key; edges (dependent, dependency); dangling: [(runbook key, missing id)];
    cycles: each a list of keys starting and ending at the same key; width/height px."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    dangling: list[tuple[str, str]] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    width: int = 0
    height: int = 0

    # (dependent, dependency) -> the empty slots, (x, y) of their top-left corner, that an
    # edge spanning more than one column passes through, from the dependent's side.
    waypoints: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)

    def edge_lines(self) -> list[dict]:
        """Each edge as an SVG polyline ("points": "x,y x,y …") from the dependent's left
        side to the dependency's right side; an edge that skips columns runs straight
        through an empty slot of each column between, so it crosses no other runbook's
        box. "dangling" marks edges to missing ids."""
        lines = []
        middle = NODE_HEIGHT // 2
        for source, target in self.edges:
            a, b = self.nodes[source], self.nodes[target]
            points = [(a.x, a.y + middle)]
            for x, y in self.waypoints.get((source, target), []):
                points += [(x + NODE_WIDTH, y + middle), (x, y + middle)]
            points.append((b.x + NODE_WIDTH, b.y + middle))
            lines.append({"points": " ".join(f"{x},{y}" for x, y in points),
                          "dangling": b.dangling, "source": source, "target": target})
        return lines


def find_dangling(depends: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(runbook key, missing id) for every depends_on id that no runbook has."""
    return [(key, dep) for key, deps in sorted(depends.items()) for dep in deps
            if dep not in depends]


def find_cycles(depends: dict[str, list[str]]) -> list[list[str]]:
    """Each distinct cycle once, as [a, b, …, a], found by depth-first search."""
    cycles, seen_sets = [], set()
    state = {}

    def visit(key: str, path: list[str]) -> None:
        state[key] = "active"
        path.append(key)
        for dep in depends.get(key, []):
            if dep not in depends:
                continue
            if state.get(dep) == "active":
                cycle = [*path[path.index(dep):], dep]
                marker = frozenset(cycle)
                if marker not in seen_sets:
                    seen_sets.add(marker)
                    cycles.append(cycle)
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[key] = "done"

    for key in sorted(depends):
        if key not in state:
            visit(key, [])
    return cycles


def build_graph(runbooks) -> Graph:
    """The graph of `runbooks` (Runbook rows), laid out left to right: a runbook's column
    is one more than its deepest dependency's (cycles are cut where they close); an edge
    that skips columns is routed through empty slots (Graph.waypoints), never through a
    box. docs/rules.md#runbook-graph"""
    runbooks = list(runbooks)
    depends = {runbook.key: list(runbook.depends_on) for runbook in runbooks}
    graph = Graph(dangling=find_dangling(depends), cycles=find_cycles(depends))
    for runbook in runbooks:
        graph.nodes[runbook.key] = Node(runbook.key, runbook.title, runbook)
    for _key, missing in graph.dangling:
        graph.nodes.setdefault(missing, Node(missing, "not in Scarlog"))
    graph.edges = [(key, dep) for key, deps in sorted(depends.items()) for dep in deps]
    column: dict[str, int] = {}

    def depth(key: str, visiting: frozenset) -> int:
        if key in column:
            return column[key]
        deps = [dep for dep in depends.get(key, []) if dep not in visiting]
        value = 1 + max((depth(dep, visiting | {key}) for dep in deps), default=-1)
        column[key] = value
        return value

    for key in sorted(graph.nodes):
        depth(key, frozenset())
    rows: dict[int, int] = {}

    def slot(col: int) -> tuple[int, int]:
        """The next free slot of column `col`, as its top-left corner."""
        row = rows.get(col, 0)
        rows[col] = row + 1
        return MARGIN + col * (NODE_WIDTH + COLUMN_GAP), MARGIN + row * (NODE_HEIGHT + ROW_GAP)

    for key in sorted(graph.nodes, key=lambda key: (column[key], key)):
        node = graph.nodes[key]
        node.x, node.y = slot(column[key])
    # An edge that skips columns gets an empty slot in each column it crosses (as in a
    # layered drawing's dummy nodes), below that column's runbooks.
    for source, target in graph.edges:
        crossed = range(column[source] - 1, column[target], -1)
        if len(crossed):
            graph.waypoints[(source, target)] = [slot(col) for col in crossed]
    columns = max(column.values(), default=-1) + 1
    graph.width = 2 * MARGIN + max(columns, 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    graph.height = 2 * MARGIN + max(rows.values(), default=1) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    return graph
