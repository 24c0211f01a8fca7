import re

from nets.engine.bench import main


def test_bench_prints_one_line_per_case(capsys):
    main(["--models", "mlp", "--batches", "256", "--epochs", "1", "--repeats", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("# mnist-mini")
    assert re.fullmatch(r"mlp batch 256: engine \d+ img/s, tutorial \d+ img/s, ratio [\d.]+x", lines[1])
    assert re.fullmatch(r"mlp evaluation batch 1000: engine \d+ img/s, tutorial \d+ img/s, ratio [\d.]+x", lines[2])


def test_chart_bench_prints_its_figures(capsys):
    from nets.charts import bench as bench_charts
    bench_charts.main(["--repeats", "1"])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all(" ms" in line and "KB of chart JSON" in line for line in out)
    assert "median of 1" in out[0] and "heat map" in out[-1] and "KB of PNG" in out[-1]  # the Inside charts too
