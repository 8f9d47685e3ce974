"""Every notebook executed under `smoke` with papermill, its results asserted; then the strict, offline book."""

import json

import pytest

from facerecon.study.book import build_book, external_assets
from facerecon.study.runner import list_notebooks, run_notebooks
from facerecon.study.results import load_results


@pytest.fixture(scope="module")
def smoke_run(root):
    return {r["notebook"]: r for r in run_notebooks("smoke", root=root, progress=False)}


def test_every_notebook_ran(smoke_run, root):
    assert set(smoke_run) == set(list_notebooks(root))
    for stem in smoke_run:
        record = load_results(stem, "smoke", root)
        prov = record["provenance"]
        assert prov["profile"] == "smoke"
        assert {"params", "git_commit", "versions", "device", "seed", "wall_time_s"} <= prov.keys()


def test_data_notebook_results(smoke_run, root):
    res = load_results("00_data", "smoke", root)["results"]
    params = load_results("00_data", "smoke", root)["provenance"]["params"]
    assert res["model"]["n_identity"] >= 40 and res["model"]["n_expression"] >= 10
    assert res["train"]["n"] == params["n_train"] and res["test"]["n"] == params["n_test"]
    assert sum(res["test"]["yaw_bin_counts"].values()) == params["n_test"]
    assert res["train"]["max_abs_yaw_deg"] <= 90
    assert res["samples_per_minute"] > 0


def test_book_builds_strictly_and_offline(smoke_run, root):
    index = build_book(root, strict=True)
    html = index.parent
    assert external_assets(html) == []
    pages = {p.stem for p in (html / "_executed").glob("*.html")}
    assert set(smoke_run) <= pages
    assert (html / "_static" / "plotly.min.js").is_file()
    data_page = (html / "_executed" / "00_data.html").read_text()
    assert "plotly-graph-div" in data_page and "_static/plotly.min.js" in data_page
    intro = (html / "book" / "intro.html").read_text()
    assert "_static/mathjax/" in intro and "smoke" in intro


def test_external_asset_check_catches_cdn(tmp_path):
    (tmp_path / "p.html").write_text('<script src="https://cdn.plot.ly/plotly.js"></script>'
                                     '<link href="//fonts.example.com/x.css" rel="stylesheet">'
                                     "<script>var THEBE_JS_URL = 'https://unpkg.com/thebe.js'</script>")
    assert [u for _, u in external_assets(tmp_path)] == ["https://cdn.plot.ly/plotly.js", "//fonts.example.com/x.css"]


def test_generator_notebook_results(smoke_run, root):
    res = load_results("04_generator_discriminator", "smoke", root)["results"]
    paper = res["paper_layout"]
    assert [lv["vertices"] for lv in paper["mesh_levels"]] == [141, 491, 1821, 7001]
    assert paper["mesh_levels"][-1]["faces"] == 13440
    assert paper["encoder"]["stages"][-1] == [320, 29, 29] and paper["discriminator"]["gcn_block_width"] == 96
    assert res["timings"]["generator_paper_batch1_ms"] > 0
    m = res["metrics_example"]
    floor = m["GT, another sample of its surface"]["CD/K"]
    # resampling the GT onto the generator's topology costs no more than sampling noise; the template is far off
    assert m["GT resampled onto the template"]["CD/K"] < 1.5 * floor
    assert m["template (untrained output)"]["CD/K"] > 3 * m["GT resampled onto the template"]["CD/K"]


def test_gan_modifications_notebook_results(smoke_run, root):
    record = load_results("03_gan_modifications", "smoke", root)
    res, params = record["results"], record["provenance"]["params"]
    variants = res["toy"]["variants"]
    assert {"vanilla", "all (paper)"} <= set(variants) and len(variants) == 6
    for v in variants.values():
        assert len(v["modes_covered"]) == len(params["toy_seeds"]) and all(0 <= m <= 8 for m in v["modes_covered"])
    mesh = res["mesh"]
    expected = {"mean-face baseline", "full", "vanilla_gan", "no_gan"}
    expected |= {"no_gan, paper's inputs"} if params["paper_inputs_check"] else set()
    expected |= {f"full, adversarial weight {w:g}" for w in params["adversarial_weights_check"]}
    assert set(mesh) == expected
    for scores in mesh.values():
        assert scores["n"] == params["eval_n"] and scores["cd_per_point"] > 0 and scores["emd_per_point"] > 0
        assert sum(b["n"] for b in scores["by_yaw"].values()) == params["eval_n"]
    assert mesh["mean-face baseline"]["diversity_ratio"] == 0 and res["diversity_gt"] > 0
    main = res["main_model"]
    assert main["training"]["steps"] == params["steps"] and main["cd_per_point"] == mesh["full"]["cd_per_point"]


def test_loss_stability_notebook_results(smoke_run, root):
    record = load_results("07_loss_stability", "smoke", root)
    res, params = record["results"], record["provenance"]["params"]
    assert set(res["stability"]) == {"full", "vanilla_gan", "no_gan"}
    assert "d_loss" in res["stability"]["full"] and "d_loss" not in res["stability"]["no_gan"]
    for model in res["stability"].values():
        assert len(model["g_total"]["per_seed"]) == len(params["seeds"])
        assert all(s["oscillation"] >= 0 for s in model["g_total"]["per_seed"])
    # seed 0 was shared with 03 through the run cache: the same training summary
    main = load_results("03_gan_modifications", "smoke", root)["results"]["main_model"]["training"]
    assert res["training"]["full"][0]["wall_time_s"] == main["wall_time_s"]
