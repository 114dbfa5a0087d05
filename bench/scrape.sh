#!/usr/bin/env bash
# Parsing metrics pages, as the scraper does each interval: Trainyard's parser (TrainyardBench
# exposition, release) against the reference, prometheus_client's own parser
# (text_string_to_metric_families, the version pinned in Tests/Telemetry/requirements.txt, in
# .build/telemetry-venv), on the same generated pages in one run; prints both and the ratio
# (Trainyard's time includes selecting the series the scraper keeps; parse only beside it).
#   Pages: a vLLM-sized page (~600 series), 10,000 series (the most a scrape takes), and a
#   10,000-series page with long label values near the 10 MiB cap.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/throwaway-server.sh
ty_init
ty_python_venv telemetry Tests/Telemetry/requirements.txt
swift build -c release --product TrainyardBench 2>&1 | grep -E "error|warning: |Build" || true
bench="$(swift build -c release --show-bin-path)/TrainyardBench"
ty_data_dir

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)"
"$TY_PYTHON" - "$TY_WORK" <<'PY'
import sys
work = sys.argv[1]
def page(path, histograms, pad):
    lines = ["# HELP requests_total Requests by status.", "# TYPE requests_total counter"]
    for status in ("200", "404", "500", "503"):
        lines.append(f'requests_total{{status="{status}"}} {12345 + len(status)}')
    lines += ["# HELP request_latency_seconds Latency.", "# TYPE request_latency_seconds histogram"]
    bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    for h in range(histograms):
        labels = f'model="m{h % 7}",route="/v1/predict/{h}",pad="{"x" * pad}"'
        for i, le in enumerate(bounds):
            lines.append(f'request_latency_seconds_bucket{{{labels},le="{le}"}} {100 * (i + 1) + h}')
        lines.append(f"request_latency_seconds_count{{{labels}}} {100 * len(bounds) + h}")
        lines.append(f"request_latency_seconds_sum{{{labels}}} {h * 0.75:.3f}")
    open(path, "w").write("\n".join(lines) + "\n")
page(f"{work}/vllm-sized.txt", 43, 0)          # ~600 series
page(f"{work}/10k-series.txt", 713, 0)         # ~10,000 series
page(f"{work}/near-10MiB.txt", 713, 900)       # ~10,000 series, long labels
PY
files=("$TY_WORK/vllm-sized.txt" "$TY_WORK/10k-series.txt" "$TY_WORK/near-10MiB.txt")
"$bench" exposition "${files[@]}" >"$TY_WORK/swift.txt"
"$TY_PYTHON" - "$TY_WORK/swift.txt" "${files[@]}" <<'PY'
import os, sys, time
from prometheus_client.parser import text_string_to_metric_families
swift = {line.split()[1]: line.split() for line in open(sys.argv[1])}
print(f"{'page':<16} {'bytes':>10} {'series':>7} {'Trainyard ms':>13} {'(parse only)':>13} {'prometheus_client ms':>21} {'ratio':>7}")
for path in sys.argv[2:]:
    text = open(path).read()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        series = sum(len(f.samples) for f in text_string_to_metric_families(text))
        runs.append((time.perf_counter() - start) * 1000)
    reference = sorted(runs)[len(runs) // 2]
    _, _, size, count, ms, _, parse_ms = swift[path]
    print(f"{os.path.basename(path):<16} {int(size):>10,} {int(count):>7,} {float(ms):>13.2f} {float(parse_ms):>13.2f} {reference:>21.1f} {reference / float(ms):>6.1f}×")
PY
