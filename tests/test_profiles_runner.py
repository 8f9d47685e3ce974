import json

import nbformat
import pytest

from facerecon.cli import main
from facerecon.study.parameters import declared_parameters, resolve_parameters
from facerecon.study.runner import list_notebooks, run_notebooks
from facerecon.study.profiles import PROFILE_NAMES, load_profile, resolve_profile_name


def _toy_root(tmp_path, profile_yaml):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "smoke.yaml").write_text(profile_yaml)
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'\nn = 3  # paper: 100\nname: str = 'a'"),
        nbformat.v4.new_code_cell("print(n)")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "notebooks" / "00_toy.ipynb")
    return tmp_path


def test_every_profile_matches_the_notebooks(root):
    notebooks = list_notebooks(root)
    assert "00_data" in notebooks
    for name in PROFILE_NAMES:
        for stem, section in load_profile(name, root).items():
            resolve_parameters(notebooks[stem], section, name)  # raises on an undeclared name


def test_declared_parameters_are_parsed(tmp_path):
    root = _toy_root(tmp_path, "00_toy: {n: 5}\n")
    assert declared_parameters(root / "notebooks" / "00_toy.ipynb") == {"profile": "smoke", "n": 3, "name": "a"}


def test_undeclared_parameter_is_an_error(tmp_path):
    root = _toy_root(tmp_path, "00_toy: {n: 5, epochs: 2}\n")
    with pytest.raises(ValueError, match=r"sets \['epochs'\] for 00_toy, which does not declare"):
        run_notebooks("smoke", root=root)


def test_unknown_profile_and_notebook_are_errors(tmp_path, capsys):
    root = _toy_root(tmp_path, "00_toy: {n: 5}\n")
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        resolve_profile_name("fast")
    with pytest.raises(ValueError, match=r"unknown notebook\(s\) \['99_nope'\]"):
        run_notebooks("smoke", only=["99_nope"], root=root)
    assert main(["run-notebooks", "--profile", "fast", "--root", str(root)]) == 2
    assert "unknown profile 'fast'" in capsys.readouterr().err


def test_section_for_unknown_notebook_is_an_error(tmp_path):
    root = _toy_root(tmp_path, "00_toy: {n: 5}\n42_ghost: {n: 1}\n")
    with pytest.raises(ValueError, match="unknown notebooks"):
        run_notebooks("smoke", root=root)


def test_notebook_without_results_is_an_error(tmp_path):
    root = _toy_root(tmp_path, "00_toy: {n: 5}\n")
    with pytest.raises(RuntimeError, match="wrote no results file"):
        run_notebooks("smoke", root=root, progress=False)
    executed = json.loads((root / "_executed" / "00_toy.ipynb").read_text())
    assert any("n = 5" in "".join(c["source"]) for c in executed["cells"])  # papermill injected the profile value


def test_results_folder_follows_the_environment(tmp_path, monkeypatch):
    (tmp_path / "book").mkdir()
    root = _toy_root(tmp_path / "book", "00_toy: {n: 5}\n")
    nb = nbformat.read(root / "notebooks" / "00_toy.ipynb", as_version=4)
    nb.cells[1].source = ("from facerecon.study.results import save_results\n"
                          "save_results('00_toy', {'n': n}, params={'profile': profile, 'n': n}, seed=0)")
    nbformat.write(nb, root / "notebooks" / "00_toy.ipynb")
    monkeypatch.setenv("FACERECON_RESULTS", str(tmp_path / "elsewhere"))
    (record,) = run_notebooks("smoke", root=root, progress=False)
    written = tmp_path / "elsewhere" / "smoke" / "00_toy.json"
    assert record["results"] == str(written)
    assert json.loads(written.read_text())["results"] == {"n": 5}
    assert not (root / "_results").exists()


def test_smoke_is_the_notebooks_own_parameters(root):
    """nbval executes the committed chapters as they are: the smoke profile must not override their defaults."""
    sections = load_profile("smoke", root)
    for stem, section in sections.items():
        assert section == {}, f"profiles/smoke.yaml sets {sorted(section)} for {stem}: put smoke values in its parameters cell"


@pytest.mark.parametrize("stem", ["02_augmentation", "03_gan_modifications", "05_table3_comparison",
                                  "06_table4_ablation", "07_loss_stability"])
def test_smoke_train_section_is_what_the_chapters_train(root, stem):
    from facerecon.study.profiles import load_train_section
    from facerecon.training.cached import train_settings

    declared = train_settings(declared_parameters(list_notebooks(root)[stem]))
    assert declared == load_train_section("smoke", root)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_train_section_builds_a_config(root, profile):
    from facerecon.study.profiles import load_train_section
    from facerecon.training.cached import run_config

    cfg, data = run_config("full", seed=0, **load_train_section(profile, root))
    assert data.n > 0 and cfg.generator is not None
    with pytest.raises(ValueError, match="unknown training parameters"):
        run_config("full", seed=0, **{**load_train_section(profile, root), "landmark_shap": True})


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("stem", ["02_augmentation", "05_table3_comparison"])
def test_chapters_use_the_data_chapters_detector(root, profile, stem):
    """02 and 05 read the landmark CNN and the splits that 00 makes: the same settings, so the same run-cache entries."""
    notebooks, sections = list_notebooks(root), load_profile(profile, root)
    data, chapter = (resolve_parameters(notebooks[name], sections.get(name, {}), profile)
                     for name in ("00_data", stem))
    for key in ("detector_steps", "detector_width", "resolution", "n_train", "n_test"):
        assert data[key] == chapter[key], key


def test_command_line_parameters_override_the_profile_and_are_validated(tmp_path, capsys):
    from facerecon.cli.book import parse_overrides

    assert parse_overrides(["seed=1", "seeds=[0, 1]", "name=b"]) == {"seed": 1, "seeds": [0, 1], "name": "b"}
    # YAML 1.1 reads 2e-3 (no dot) as text: a learning rate given so reached Adam as a string
    assert parse_overrides(["lr=2e-3", "lrs=[1e-3, 3e-4]", "tag=e5"]) == {"lr": 0.002, "lrs": [0.001, 0.0003],
                                                                          "tag": "e5"}
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        parse_overrides(["seed"])
    root = _toy_root(tmp_path, "00_toy: {n: 5}\n")
    with pytest.raises(ValueError, match=r"sets \['epochs'\] for 00_toy, which does not declare"):
        run_notebooks("smoke", root=root, overrides={"epochs": 2})
    with pytest.raises(RuntimeError, match="wrote no results file"):
        run_notebooks("smoke", root=root, progress=False, overrides={"n": 7})
    executed = json.loads((root / "_executed" / "00_toy.ipynb").read_text())
    assert any("n = 7" in "".join(c["source"]) for c in executed["cells"])   # beats the profile's 5


def test_nbval_pages_keeps_the_runs_outputs_for_the_book(tmp_path):
    """Under nbval, the plugin writes each chapter with this run's outputs (not the stored ones) and its time."""
    import subprocess
    import sys

    root = _toy_root(tmp_path, "")
    path = root / "notebooks" / "00_toy.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "print(n * 2)"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stored long ago\n")]
    nb.cells[1].execution_count = 1
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "notebooks", "--nbval", "--nbval-current-env",
                           "-p", "facerecon.study.nbval_pages", "-p", "no:cacheprovider", "-q"],
                          cwd=root, capture_output=True, text=True)
    assert "1 failed" in proc.stdout, proc.stdout[-2000:]   # nbval still compares with the stored output
    executed = nbformat.read(root / "_executed" / "00_toy.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "6\n"
    assert executed.cells[1].execution_count == 2
    info = (root / "_executed" / "run_info.md").read_text()
    row = [line for line in info.splitlines() if "`00_toy`" in line]
    assert row and row[0].split("|")[2].strip() == "`smoke`" and float(row[0].split("|")[4].split()[0]) > 0


def test_the_run_table_keeps_every_chapters_last_run(tmp_path):
    """Rerunning one chapter (another profile, another commit) replaces its row only: the intro said which
    profile made every page from the last command alone, so one rerun hid the other chapters' provenance."""
    from facerecon.study.runner import write_run_info

    write_run_info(tmp_path, "cpu", [{"notebook": "00_data", "profile": "cpu", "wall_time_s": 2055.0},
                                     {"notebook": "01_noise", "profile": "cpu", "wall_time_s": 1163.0}])
    write_run_info(tmp_path, "smoke", [{"notebook": "01_noise", "profile": "smoke", "wall_time_s": 12.5}])
    info = (tmp_path / "_executed" / "run_info.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:5]]
            for line in info.splitlines() if line.startswith("| `")}
    assert rows["`00_data`"][0] == "`cpu`" and rows["`00_data`"][2] == "2055.0 s"
    assert rows["`01_noise`"][0] == "`smoke`" and rows["`01_noise`"][2] == "12.5 s"
    assert "several runs" in info
