"""Parse ADQL with GAVO DaCHS's parser (run by Debian's python3, where DaCHS lives).

Reads a JSON list of queries on stdin and writes, for each, either ``{"error": ...}`` or the
tables (``schema.table`` and alias) and column references (qualifier, name) it uses. It needs no
database: only :func:`gavo.adql.parseToTree`.
"""

import json
import sys

from gavo import adql
from gavo.adql import nodes


def _walk(node, tables, columns):
    if isinstance(node, nodes.PlainTableRef):
        original = getattr(node, "originalTable", None) or node.tableName
        alias = node.tableName.name if node.tableName is not None else original.name
        tables.append({"schema": original.schema, "name": original.name, "alias": alias})
    if isinstance(node, nodes.ColumnReference):
        qualifier = node.refName.name if node.refName is not None else None
        columns.append({"qualifier": qualifier, "name": node.name})
    for _, value in node.iterAttributes():
        values = value if isinstance(value, (list, tuple)) else [value]
        for child in values:
            if isinstance(child, nodes.ADQLNode):
                _walk(child, tables, columns)


def main():
    results = []
    for query in json.load(sys.stdin):
        try:
            tree = adql.parseToTree(query)
        except Exception as exc:
            results.append({"error": f"{type(exc).__name__}: {exc}"})
            continue
        tables, columns = [], []
        _walk(tree, tables, columns)
        fields = getattr(tree.selectList, "selectFields", None) or []
        aliases = [item.alias for item in fields if getattr(item, "alias", None)]
        results.append({"tables": tables, "columns": columns, "aliases": aliases})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
