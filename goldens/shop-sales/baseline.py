"""Code mode: the script an agent would write for this task. It makes the same three calls; the
rows come back as the server writes them (Python's repr, not JSON) and are printed as the output."""

import json

import flowtape_tools as tools

tools.sqlite.write_query("CREATE TABLE sales (region TEXT NOT NULL, product TEXT NOT NULL, qty INTEGER NOT NULL, price REAL NOT NULL)")
tools.sqlite.write_query(
    "INSERT INTO sales VALUES ('north', 'kettle', 4, 24.5), ('north', 'toaster', 2, 31.0), ('north', 'kettle', 3, 24.5), "
    "('north', 'lamp', 1, 12.0), ('south', 'kettle', 6, 23.0), ('south', 'lamp', 5, 11.5), ('south', 'toaster', 1, 30.0), "
    "('south', 'lamp', 4, 11.5), ('east', 'toaster', 7, 29.0), ('east', 'kettle', 2, 25.0), ('east', 'lamp', 2, 12.5), "
    "('east', 'toaster', 1, 29.0)")
min_units = int(tools.inputs["min_units"])  # an integer, so it is safe in the SQL text
report = tools.sqlite.read_query(
    "SELECT region, product, SUM(qty) AS units, ROUND(SUM(qty * price), 2) AS revenue FROM sales "
    f"GROUP BY region, product HAVING SUM(qty) >= {min_units} ORDER BY revenue DESC, region, product")
print(json.dumps({"report": report}))
