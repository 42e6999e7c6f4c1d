"""Turn the raw results of bench/nn_throughput.py into medians, ratios, targets and markdown."""

from __future__ import annotations

import statistics
from datetime import datetime

LIBS = ("housenet", "torch", "sklearn")


def weights_per_sample(n_inputs: int, arch) -> int:
    sizes = [n_inputs, *arch, 1]
    return sum(fi * fo for fi, fo in zip(sizes[:-1], sizes[1:]))


def flops_per_sample(n_inputs: int, arch) -> int:
    """Training FLOPs per sample as the issue counts them: 6 * (weights) = 2W forward + 2W + 2W backward."""
    return 6 * weights_per_sample(n_inputs, arch)


def _key(arch, dtype: str, batch: int) -> str:
    return f"{'-'.join(map(str, arch))}/{dtype}/{batch}"


def _net(arch) -> str:
    return f"D-{'-'.join(map(str, arch))}-1"


def summarise(results: dict) -> dict:
    rows, n_inputs = results["plan"]["rows"], results["n_inputs"]
    cells: dict[str, dict] = {}
    for run in results["runs"]:
        cell = cells.setdefault(_key(run["arch"], run["dtype"], run["batch"]), {
            "arch": run["arch"], "dtype": run["dtype"], "batch": run["batch"], "libs": {}})
        lib = cell["libs"].setdefault(run["lib"], {"epoch_sps": [], "round_medians": [], "other_cpu_cores": [],
                                                   "final_loss": []})
        sps = [rows / s for s in run["epoch_seconds"][1:]]
        lib["epoch_sps"] += sps
        lib["round_medians"].append(statistics.median(sps))
        lib["other_cpu_cores"].append(run["other_cpu_cores"])
        lib["final_loss"].append(run["final_loss"])
    peak = {dt: max(p["square"][dt]["gflops"] for p in results["matmul"]) for dt in ("float64", "float32")}
    bounds = {k: max(p["steps"][k]["samples_per_second_bound"] for p in results["matmul"])
              for k in results["matmul"][0]["steps"]}
    big = max(results["plan"]["batches"])
    for cell in cells.values():
        for lib in cell["libs"].values():
            lib["median_sps"] = statistics.median(lib["epoch_sps"])
        med = {name: lib["median_sps"] for name, lib in cell["libs"].items()}
        cell["ratio_torch"] = med["housenet"] / med["torch"]
        cell["ratio_sklearn"] = med["housenet"] / med["sklearn"]
        if cell["batch"] == big:
            flops = flops_per_sample(n_inputs, cell["arch"])
            bound = bounds[f"{cell['dtype']}/{'-'.join(map(str, cell['arch']))}"]
            cell["gemm_bound_sps"] = bound
            for lib in cell["libs"].values():
                lib["gflops"] = lib["median_sps"] * flops / 1e9
                lib["fraction_of_peak"] = lib["gflops"] / peak[cell["dtype"]]
                lib["fraction_of_gemm_bound"] = lib["median_sps"] / bound
    return {"cells": cells, "peak_gflops": peak, "gemm_bound_sps": bounds, "targets": targets(cells, results)}


def targets(cells: dict, results: dict) -> list[dict]:
    small, big = min(results["plan"]["batches"]), max(results["plan"]["batches"])
    out = []
    for cell in cells.values():
        name = f"{_net(cell['arch'])} {cell['dtype']} batch {cell['batch']}"
        need = {small: 3.0, big: 1.0}.get(cell["batch"])
        if need is None:
            continue
        for other, key in (("MLPRegressor", "ratio_sklearn"), ("PyTorch", "ratio_torch")):
            out.append({"rank": 0 if cell["batch"] == small else 1, "target": f">= {need:g}x {other}",
                        "config": name, "value": f"{cell[key]:.2f}x", "met": cell[key] >= need})
        if cell["batch"] == big and cell["dtype"] == "float32" and list(cell["arch"]) == [256, 256]:
            frac = cell["libs"]["housenet"]["fraction_of_peak"]
            out.append({"rank": 2, "target": ">= 60% of float32 matmul peak", "config": name, "value": f"{frac:.0%}",
                        "met": frac >= 0.60})
    return sorted(out, key=lambda t: (t["rank"], t["target"], t["config"]))


# -- markdown ----------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def _sps(v: float) -> str:
    return f"{v:,.0f}"


def render(results: dict) -> str:
    s, plan, info = results["summary"], results["plan"], results["info"]
    cells = list(s["cells"].values())
    blas = info["blas"]
    started = datetime.fromisoformat(results["started"])
    lines = [
        "# Network training throughput (issue 2)",
        "",
        "Samples per second while training housenet's NumPy MLP, PyTorch (CPU) and scikit-learn's "
        "MLPRegressor on the same data, architecture, batch size and dtype.",
        "",
    ]
    if results["quick"]:
        lines += ["**This is a `--quick` smoke run on small data: its numbers are not the benchmark.**", ""]
    if results["threads"] < info["blas_threads"]:
        lines += [f"**Threads were limited to {results['threads']}** (numpy's BLAS starts with "
                  f"{info['blas_threads']}): "
                  "other processes shared this machine during the run, and with every core in use OpenBLAS's and "
                  "OpenMP's spinning thread pools made 2-thread runs 10 to 100 times slower, so a 2-thread run "
                  "measured the neighbours, not the libraries. On an idle machine, run it without `--threads`.", ""]
    lines += [
        "Regenerate with (from the repository root, project venv):", "", "```", results["command"], "```", "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC; it took {results['duration_seconds'] / 60:.1f} minutes, "
        f"{results['quiet_waited_seconds'] / 60:.1f} of them waiting for other processes to go idle.", "",
        "## Machine", "",
        *_table(["", ""], [
            ["CPU", f"{results['cpu_model']} ({results['cores']} cores)"],
            ["Python", info["python"]],
            ["numpy / torch / scikit-learn", " / ".join(info["versions"][k] for k in ("numpy", "torch",
                                                                                        "scikit-learn"))],
            ["numpy BLAS (threadpoolctl)", f"{blas['internal_api']} {blas['version']}, kernel "
                                           f"**{blas['architecture']}**, {blas['threading_layer']}"],
            ["threads", f"{results['threads']} for numpy's BLAS (threadpoolctl; it starts with {info['blas_threads']}) "
                        "and torch.set_num_threads"],
            ["torch BLAS", _torch_blas(results)],
            ["OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE", " / ".join(results["env"][k] or "unset"
                                                                for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))],
        ], "ll"),
        "## Throughput", "",
        f"Median samples/s over all measured epochs ({plan['rounds']} interleaved round(s), each run after its own "
        f"warm-up epoch); {plan['rows']:,} rows x D = {results['n_inputs']} inputs; network D-h1-h2-1.", "",
    ]
    rows = []
    for c in cells:
        med = {k: c["libs"][k]["median_sps"] for k in LIBS}
        n_ep = "/".join(str(len(c["libs"][k]["epoch_sps"])) for k in LIBS)
        rows.append([_net(c["arch"]), c["dtype"], str(c["batch"]), *(_sps(med[k]) for k in LIBS),
                     f"{c['ratio_torch']:.2f}x", f"{c['ratio_sklearn']:.2f}x", n_ep])
    lines += _table(["network", "dtype", "batch", "housenet", "PyTorch", "sklearn", "housenet / torch",
                     "housenet / sklearn", "epochs (h/t/s)"], rows, "llrrrrrrr")
    lines += ["## Targets", ""]
    lines += _table(["target", "configuration", "measured", "status"],
                    [[t["target"], t["config"], t["value"], "met" if t["met"] else "**not met**"]
                     for t in s["targets"]], "llrl")
    lines += _peak_section(results, cells)
    lines += _method_section(results)
    lines += _noise_section(results, cells)
    return "\n".join(lines).rstrip() + "\n"


def _torch_blas(results: dict) -> str:
    blas = {r.get("torch_blas") for r in results["runs"] if r["lib"] == "torch"}
    return ", ".join(sorted(b for b in blas if b)) or "unknown"


def _peak_section(results: dict, cells: list[dict]) -> list[str]:
    s, n_inputs = results["summary"], results["n_inputs"]
    big = max(results["plan"]["batches"])
    size = results["plan"]["matmul_size"]
    lines = ["## Batch " + str(big) + " against the matmul peak", "",
             f"Peak = numpy `{size}x{size} @ {size}x{size}` matmul, median of repeats, the better of two probes "
             f"(before and after the runs): **{s['peak_gflops']['float64']:.1f} GFLOP/s float64, "
             f"{s['peak_gflops']['float32']:.1f} GFLOP/s float32**. Training FLOPs per sample = 6 W, W = "
             "sum(fan_in x fan_out) over the layers: 2W forward, 2W for weight gradients, 2W for input gradients "
             "(the GEMMs actually needed are 6W - 2 x 64 x h1, as layer 0 needs no input gradient; biases, "
             "activations, loss and Adam are not counted). \"GEMM bound\" = batch / (summed median time of the GEMMs "
             "of one housenet step, measured alone at their exact shapes and layouts).", ""]
    rows = []
    for c in (c for c in cells if c["batch"] == big):
        fps = flops_per_sample(n_inputs, c["arch"])
        for lib in LIBS:
            d = c["libs"][lib]
            rows.append([_net(c["arch"]), c["dtype"], lib, _sps(d["median_sps"]),
                         f"{fps:,}", f"{d['gflops']:.1f}", f"{d['fraction_of_peak']:.0%}",
                         f"{d['fraction_of_gemm_bound']:.0%}"])
        rows.append(["", "", "*GEMM bound*", _sps(c["gemm_bound_sps"]), "", "", "", ""])
    lines += _table(["network", "dtype", "library", "samples/s", "FLOP/sample", "GFLOP/s", "% of peak",
                     "% of GEMM bound"], rows, "lllrrrrr")
    lines += [f"GEMMs of one batch-{big} step (left operand m x k, right k x n; GFLOP/s, better of two probes):", ""]
    rows = []
    for key in results["matmul"][0]["steps"]:
        for i, g in enumerate(results["matmul"][0]["steps"][key]["gemms"]):
            best = max(p["steps"][key]["gemms"][i]["gflops"] for p in results["matmul"])
            dtype, arch = key.split("/")
            rows.append([f"D-{arch}-1", dtype, g["role"], f"({g['m']}x{g['k']}) @ ({g['k']}x{g['n']})", f"{best:.1f}"])
    lines += _table(["network", "dtype", "role", "shape", "GFLOP/s"], rows, "llllr")
    return lines


def _method_section(results: dict) -> list[str]:
    plan = results["plan"]
    sk = [r for r in results["runs"] if r["lib"] == "sklearn" and r["dtype"] == "float32"]
    sk_note = (f"weights stay {sk[0]['weights_dtype']} and so does Adam's state ({sk[0]['adam_state_dtype']}), "
               if sk else "")
    return [
        "## Method", "",
        f"- Data: {plan['rows']:,} x {results['n_inputs']} standard normal inputs; target from a fixed random "
        "teacher, y = relu(X W1 + b1) w2 + 0.1 noise (32 hidden units, seed 0), standardised. Same data for every "
        "library, cast to the run's dtype before timing.",
        "- Every run is its own subprocess (`--worker housenet|torch|sklearn`), with numpy's BLAS limited by "
        "threadpoolctl to the thread count above. An epoch's time includes its reshuffle; lr = 1e-3, Adam "
        "(0.9, 0.999, 1e-8), MSE, no weight decay.",
        "- housenet: `fit(net, X, y, TrainConfig(epochs, batch_size, optim=OptimConfig(lr=1e-3)))`; time = "
        "`EpochLog.seconds` (its own shuffle into a buffer, then contiguous batches).",
        "- PyTorch: `nn.Sequential(Linear, ReLU, ..., Linear)` in the run's dtype, `torch.optim.Adam` (defaults), "
        "`nn.MSELoss`; each epoch `X[torch.randperm(n)]`, contiguous batch slices, `zero_grad`, forward, backward, "
        "`step`, and `loss.item()` per batch (housenet also reads each batch's loss).",
        "- scikit-learn: `MLPRegressor(hidden_layer_sizes, activation='relu', solver='adam', alpha=0, batch_size, "
        "shuffle=False)`; each epoch a numpy permutation of the rows, then one `partial_fit` per contiguous "
        "mini-batch (one Adam step per call, with sklearn's per-call input validation). With float32 input "
        f"sklearn computes forward and backward in float32 ({sk_note}but the Adam update itself is formed in "
        "float64, since its bias-corrected learning rate is a numpy float64 scalar, and cast back on `+=`).",
        f"- Epochs: per run one warm-up epoch, then {plan['epochs']} measured epochs, or fewer (never under "
        f"{min(3, plan['epochs'])}) once "
        f"the measured epochs of that run passed {plan['max_seconds']:g} s (this shortens the slow batch-32 runs); "
        f"{plan['rounds']} round(s), every configuration's three libraries back to back in an order rotated per "
        "configuration and round. Medians are over every measured epoch of all rounds.",
        f"- The last, smaller batch of an epoch is trained on by all three ({plan['rows']:,} rows).",
        "- `bench/nn_step_profile.py --arch 256,256 --batch 32 --dtype float64` splits one housenet step into "
        "forward, loss, backward and Adam, and times each numpy call alone at its shape.",
        f"- Before each run the parent waits up to {plan['quiet_wait']:g} s ({plan['quiet_budget']:g} s in all; "
        f"{results['quiet_waited_seconds']:.0f} s were used) for other processes to use under "
        f"{results['noisy_cores']:g} cores (the cores the run leaves free, plus 0.2); a run "
        f"during which they kept {results['noisy_cores']:g} cores or more busy is run again, up to twice (at most "
        f"{plan['retries']} such repeats in all), and the quietest attempt is kept.",
        "",
    ]


def _noise_section(results: dict, cells: list[dict]) -> list[str]:
    runs, limit = results["runs"], results["noisy_cores"]
    noisy = [r for r in runs if r["other_cpu_cores"] >= limit]
    repeated = sum("discarded" in r for r in runs)
    attempts = sum(len(r.get("discarded", [])) for r in runs)
    text = (f"Other processes kept on average {statistics.mean(r['other_cpu_cores'] for r in runs):.2f} cores busy "
            f"during the kept runs (the most in one run: {max(r['other_cpu_cores'] for r in runs):.2f}; hypervisor "
            f"steal at most {max(r['steal_cores'] for r in runs):.2f} cores); {repeated} run(s) were repeated for "
            f"noise ({attempts} disturbed attempt(s) discarded, kept in the JSON). ")
    if noisy:
        names = [f"{r['lib']} {_net(r['arch'])} {r['dtype']} b{r['batch']} ({r['other_cpu_cores']:.2f})"
                 for r in noisy]
        text += (f"{len(noisy)} of {len(runs)} kept runs still saw {limit:g} cores or more of other load: "
                 + ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") + ".")
    else:
        text += f"No kept run saw {limit:g} cores or more of other load."
    spread = []
    for c in cells:
        for lib in LIBS:
            rm = c["libs"][lib]["round_medians"]
            if len(rm) > 1:
                spread.append((max(rm) - min(rm)) / statistics.median(rm))
    if spread:
        text += (f" Between rounds, a run's median moved by {statistics.median(spread):.0%} (median over "
                 f"configurations and libraries; largest {max(spread):.0%}).")
    probes = ", ".join(f"{p['other_cpu_cores']:.2f}" for p in results["matmul"])
    text += f" Other load during the matmul probes: {probes} cores. Per-epoch timings are in the JSON output."
    return ["## Noise", "", text, ""]
