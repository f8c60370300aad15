"""YAML read with its line numbers, so a RecordError can name the line of a bad key.

load(text) returns the data (yaml.safe_load's) and the composed node tree; line_of(node,
key) the 1-based line of the value a RecordError's dotted key names (`steps[0].no`): the
line of its key in a mapping or of its item in a list, else of the nearest parent found.
"""
import re

import yaml

_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def load(text: str):
    """(data, root node) of the YAML `text`; raises yaml.YAMLError like safe_load."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise yaml.YAMLError("the YAML is nested too deeply") from None
    except ValueError as exc:  # a date such as 0000-01-01, an int of 5,000 digits
        raise yaml.YAMLError(f"a value cannot be read: {exc}") from None
    finally:
        loader.dispose()
    return data, node


def key_parts(key: str) -> list:
    """"steps[0].no" -> ["steps", 0, "no"]."""
    return [int(index) if index else name for index, name in _PART.findall(key)]


def line_of(node, key: str | list, first_line: int = 1) -> int | None:
    """The line (counting the text's first line as `first_line`) of `key` under `node`."""
    if node is None:
        return None
    line = node.start_mark.line
    for part in key_parts(key) if isinstance(key, str) else key:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == str(part)]
            if not found:
                break
            key_node, node = found[0]
            line = key_node.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + first_line
