"""`medcom docs` writes the dbt documentation site under MEDCOM_HOME, every mart column described."""

import json

from medcom_cli import run_medcom


def test_docs_generate_describes_every_mart_column(medcom_home):
    p = run_medcom("docs", home=medcom_home)
    assert p.returncode == 0, p.stderr
    target = medcom_home / "dbt" / "target"
    assert (target / "index.html").exists() and (target / "catalog.json").exists()
    manifest = json.loads((target / "manifest.json").read_text())
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert {"kpi_values", "dim_kpi", "dim_org", "fct_encounters"} <= {n["name"] for n in marts}
    undocumented = [f"{n['name']}.{c}" for n in marts for c, col in n["columns"].items() if not col.get("description")]
    assert not undocumented, undocumented
    assert all(n["description"] for n in marts)
