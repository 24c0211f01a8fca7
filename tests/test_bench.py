import re

from nets.bench import main


def test_bench_prints_one_line_per_case(capsys):
    main(["--models", "mlp", "--batches", "256", "--epochs", "1", "--repeats", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("# mnist-mini")
    assert re.fullmatch(r"mlp batch 256: engine \d+ img/s, tutorial \d+ img/s, ratio [\d.]+x", lines[1])
    assert re.fullmatch(r"mlp evaluation batch 1000: engine \d+ img/s, tutorial \d+ img/s, ratio [\d.]+x", lines[2])
