"""A small Mermaid flowchart parser for the diagram tests: the syntax cicd.docs.diagram may use, and nothing else.

A plain module (not conftest) so the test modules can import it; it asserts as it parses, so a chart
that does not parse fails the test that drew it.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"([^"]*)"'  # quoted, no raw " inside (Mermaid entities like #quot; instead)
_SHAPES = [(r"\[", r"\]"), (r"\{\{", r"\}\}"), (r"\(", r"\)"), (r"\(\[", r"\]\)"), (r"\[\[", r"\]\]"),
           (r"\[\(", r"\)\]"), (r"\{", r"\}")]
_NODE = re.compile(rf"({_ID})(?:{'|'.join(f'{o}{_LABEL}{c}' for o, c in _SHAPES)})")
_EDGE = re.compile(rf"({_ID}) (-->|-\.->|==>|---)(?:\|{_LABEL}\|)? ({_ID})")
_RESERVED = {"end", "subgraph", "graph", "flowchart", "class", "classDef", "style", "linkStyle", "click",
             "direction", "default", "call", "href"}


class Flowchart:
    """Nodes (id -> label lines), their subgraph chains, edges, subgraphs in order, classes."""

    def __init__(self, text: str):
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("%%")]
        assert lines and re.fullmatch(r"flowchart (TB|TD|BT|LR|RL)", lines[0]), f"starts with {lines[:1]}"
        self.nodes: Dict[str, List[str]] = {}
        self.parents: Dict[str, Tuple[str, ...]] = {}
        self.subgraphs: List[Tuple[str, str]] = []
        self.edges: List[Tuple[str, str, Optional[str]]] = []
        self.classes: Dict[str, List[str]] = {}
        stack: List[str] = []
        for line in lines[1:]:
            sub = re.fullmatch(rf"subgraph ({_ID})\[{_LABEL}\]", line)
            node = _NODE.fullmatch(line)
            edge = _EDGE.fullmatch(line)
            if sub:
                self._id(sub.group(1))
                self.subgraphs.append((sub.group(1), sub.group(2)))
                self.parents[sub.group(1)] = tuple(stack)
                stack.append(sub.group(1))
            elif line == "end":
                assert stack, "`end` without a subgraph"
                stack.pop()
            elif node:
                self._id(node.group(1))
                assert node.group(1) not in self.nodes, f"node {node.group(1)} defined twice"
                label = next(g for g in node.groups()[1:] if g is not None)
                self.nodes[node.group(1)] = label.split("<br/>")
                self.parents[node.group(1)] = tuple(stack)
            elif edge:
                self._id(edge.group(1))
                self._id(edge.group(4))
                self.edges.append((edge.group(1), edge.group(4), edge.group(3)))
            elif re.fullmatch(rf"classDef ({_ID}) [a-z-]+:[^\s;]+(,[a-z-]+:[^\s;,]+)*", line):
                pass
            elif re.fullmatch(rf"class {_ID}(,{_ID})* ({_ID})", line):
                members, name = line[len("class "):].rsplit(" ", 1)
                self.classes[name] = members.split(",")
            else:
                raise AssertionError(f"unexpected Mermaid line: {line!r}")
        assert not stack, f"subgraphs never closed: {stack}"
        known = set(self.nodes) | {s for s, _ in self.subgraphs}
        for a, b, _ in self.edges:
            assert a in known and b in known, f"edge {a} -> {b} names an undefined node"
        for members in self.classes.values():
            assert set(members) <= set(self.nodes), f"class for undefined nodes: {members}"

    @staticmethod
    def _id(node_id: str) -> None:
        assert re.fullmatch(_ID, node_id) and node_id not in _RESERVED, f"unsafe node id {node_id!r}"

    def node(self, first_line: str, within: str) -> str:
        """The id of the node whose first label line is `first_line`, inside subgraph `within`."""
        found = [n for n, label in self.nodes.items() if label[0] == first_line and within in self.parents[n]]
        assert len(found) == 1, f"expected one node {first_line!r} in {within}, found {found}"
        return found[0]

    def stage_id(self, stage: str) -> str:
        found = [s for s, title in self.subgraphs if title.split(" · ", 1)[-1] == stage]
        assert len(found) == 1, f"expected one subgraph for stage {stage}, found {found}"
        return found[0]

    def ranks(self, within: str) -> Dict[str, int]:
        """Longest-path rank of every node inside a subgraph, over the edges among those nodes."""
        inside = {n for n in self.nodes if within in self.parents[n]}
        edges = [(a, b) for a, b, _ in self.edges if a in inside and b in inside]
        rank = {n: 0 for n in inside}
        for _ in inside:  # Bellman-Ford style relaxation; the graph is small and acyclic
            for a, b in edges:
                rank[b] = max(rank[b], rank[a] + 1)
        return rank
