"""Grading a class: stock ``nbgrader autograde``, ``grade --no-sandbox`` and ``grade``.

    .venv/bin/python benchmarks/grading.py [--students 20] [--workers 2] [--assignments A B]
    .venv/bin/python benchmarks/grading.py --cluster [--no-stock]   # + grade --cluster local:N
    .venv/bin/python benchmarks/grading.py --before REV   # + the grader of git revision REV

All three grade the same submissions, in one run of this script: ``--students`` pseudo-students
for each of the first two assignments (or those given), each handing in the release
notebook with every exercise answered by the reference solution, by one of the
exercise's mutants (plausible wrong answers) or not at all, drawn with a fixed seed, so
the class is a mix of correct and wrong work. Printed:

- the wall time (and CPU time) of each, and their ratios: stock against the sandboxed
  ``grade`` (goal: at least 8x on 2 cores), and what the sandbox costs per notebook over
  ``--no-sandbox`` (goal: at most 0.3 s);
- the floor: the wall time of a fresh kernel that only imports torch and torchvision
  (what every notebook costs stock nbgrader before its first cell runs);
- the per-notebook overhead of each: wall time per notebook beyond what its cells need in
  a warm kernel (``grade``: worker-seconds, wall time x workers, so the two compare per
  core; the whole run is included, start-up too);
- where a notebook's time goes in the sandboxed ``grade`` (staging, kernel start, its
  cells, the judge's test cells, kernel stop, nbgrader's converters, feedback HTML,
  record), the run's phases, and the class floor: the student cells' seconds divided by
  the workers, beside the wall time (goal: at most 3x), and the non-cell cost per
  notebook (goal: at most 0.5 s);
- with ``--before REV``: the same class graded by the grader of revision REV, in the
  same run, its per-notebook phases and class figures beside this one's;
- that both gave every submission the same score;
- with ``--cluster``: ``grade --cluster local:N`` (N = ``--workers``) on the same class,
  its throughput against the local ``grade`` (goal: at least 0.9x), that its
  ``grades.csv`` is byte-identical, and how many workers grade 3,900 notebooks in ten
  minutes at the measured cost per notebook. ``--no-stock`` leaves out stock nbgrader and
  ``--no-sandbox`` (the two slowest runs).

Timings on a shared machine vary with its load: the CPU seconds show how much work each
did, whatever the load.
"""
import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from autograders import RELEASE, SOURCE  # noqa: E402
from autograders.collect import released_assignments  # noqa: E402
from autograders.sample import filled, load_mutants, reference_answers  # noqa: E402
from autograders.nbgrader_cli import nbgrader, nbgrader_env, scratch_course  # noqa: E402


def build_class(assignment_ids, students, folder, seed=0):
    """Write ``students`` submissions per assignment; return ``{(student, aid): plan}``."""
    rng = random.Random(seed)
    plans = {}
    for aid in assignment_ids:
        mutants = load_mutants(aid)
        for src in sorted((SOURCE / aid).glob("*.ipynb")):
            source = nbformat.read(src, as_version=4)
            release = nbformat.read(RELEASE / aid / src.name, as_version=4)
            reference = reference_answers(source)
            for k in range(students):
                student = f"student{k:03d}"
                answers, plan = {}, {}
                for cid, text in reference.items():
                    draw = rng.random()
                    if k == 0 or draw < 0.55:          # student000 is all correct
                        answers[cid], plan[cid] = text, "reference"
                    elif draw < 0.85 and mutants.get(cid):
                        mutant = rng.choice(mutants[cid])
                        answers[cid], plan[cid] = mutant.source, mutant.description
                    else:
                        plan[cid] = "not answered"
                dest = Path(folder, student, aid)
                dest.mkdir(parents=True, exist_ok=True)
                nbformat.write(filled(release, answers), dest / src.name)
                plans[(student, aid)] = plan
    return plans


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, cwd, env=None):
    cpu, wall = children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-3000:]}")
    return time.perf_counter() - wall, children_cpu() - cpu, proc


def floor_seconds(repeats=3):
    """Start a fresh python3 kernel and import torch and torchvision in it (seconds, from
    asking for the kernel to the import done; its shutdown is not counted)."""
    code = (
        "import time\n"
        "from jupyter_client.manager import start_new_kernel\n"
        "t = time.perf_counter()\n"
        "km, kc = start_new_kernel(kernel_name='python3')\n"
        "kc.execute_interactive('import torch, torchvision', timeout=300)\n"
        "print(time.perf_counter() - t)\n"
        "km.shutdown_kernel(now=True)\n"
        "kc.stop_channels()\n")
    runs, cpus = [], []
    for _ in range(repeats):
        wall, cpu, proc = timed([sys.executable, "-c", code], ROOT, nbgrader_env())
        runs.append(float(proc.stdout.strip().splitlines()[-1]))
        cpus.append(cpu)
    return statistics.median(runs), runs, statistics.median(cpus)


def stock(assignment_ids, submitted, work):
    """Stock nbgrader: generate the assignments, then ``nbgrader autograde`` each."""
    course = scratch_course(Path(work, "stock"), assignment_ids)
    for aid in assignment_ids:
        nbgrader(["generate_assignment", aid, "--force"], cwd=course)
    os.symlink(submitted, course / "submitted")
    wall = cpu = 0.0
    for aid in assignment_ids:
        w, c, _ = timed([sys.executable, "-m", "nbgrader", "autograde", aid, "--force"],
                        course, nbgrader_env())
        wall, cpu = wall + w, cpu + c
    from nbgrader.api import Gradebook
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for aid in assignment_ids:
            for sub in gb.find_assignment(aid).submissions:
                scores[(sub.student.id, aid)] = float(sub.score)
    return {"wall": wall, "cpu": cpu, "scores": scores}


def ours(submitted, work, workers, sandbox=True, cluster=None, root=ROOT):
    """``grade`` on the class; ``root``: the checkout whose grader runs (a worktree of an
    earlier revision for ``--before``)."""
    out = Path(work, "grade-cluster" if cluster else "grade" if sandbox else
               "grade-no-sandbox", "" if root == ROOT else "before")
    cmd = [sys.executable, "-m", "autograders", "grade", str(submitted), "--out", str(out),
           "--workers", str(workers)] + ([] if sandbox else ["--no-sandbox"]) + \
        (["--cluster", cluster] if cluster else [])
    env = nbgrader_env()
    if root != ROOT:  # its packages before the installed (editable) ones
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root),
                                                          env.get("PYTHONPATH")]))
    wall, cpu, proc = timed(cmd, root, env)
    return dict(read_run(out), wall=wall, cpu=cpu)


def read_run(out):
    """What a grading run wrote to ``out`` (grades.csv, grading.json), for the figures."""
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    state = json.loads((out / "grading.json").read_text())
    timings = [r["timing"] for r in state["rows"].values() if r.get("timing")]
    jobs = [r["seconds"] for r in state["rows"].values() if r.get("seconds")]
    return {"csv": (out / "grades.csv").read_bytes(),
            "scores": {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows},
            "statuses": {r["status"] for r in rows},
            "cells": [t["cells"] for t in timings], "jobs": jobs, "timings": timings,
            "phases": state.get("last_run", {}).get("phases", {}),
            "merging": state.get("last_run", {}).get("merging", 0.0)}


def per_notebook(run, n):
    """Where a notebook's time goes, in the mean (seconds, wall): staging it (repair and
    tamper scan, in the grader), its kernels' start, the student's cells, the judge's
    test cells, the rest of the kernels' time (the grader's guards between cells), their
    stop, nbgrader's converters around them (and reading the grades back), the feedback
    HTML, the rest of the job (copying it into the worker's course, sending the result)
    and merging it into the record (in the grader, while the workers grade on)."""
    timings = [t for t in run["timings"] if "judging" in t]
    if not timings:
        return {}
    mean = lambda key: statistics.mean(key(t) for t in timings)  # noqa: E731
    starting = mean(lambda t: t.get("kernel_start", 0.0))
    stopping = mean(lambda t: t.get("kernel_stop", 0.0))
    steps = {
        "staging (grader)": run["phases"].get("collect", 0.0) / n,
        "kernel start": starting,
        "student cells": mean(lambda t: t["cells"]),
        "test cells (judge)": mean(lambda t: t["judging"]),
        "kernel, between cells": mean(lambda t: t["kernel_wall"] - t["cells"]
                                      - t["judging"]) - starting - stopping,
        "kernel stop": stopping,
        "nbgrader converters": mean(lambda t: t["autograde"][0] - t["kernel_wall"]
                                    + t["read"][0]),
        "feedback HTML": mean(lambda t: t["feedback"][0]),
    }
    worker = sum(v for k, v in steps.items() if k != "staging (grader)")
    steps["job, the rest"] = statistics.mean(run["jobs"]) - worker
    steps["record (grader)"] = run["merging"] / n
    return steps


def class_figures(run, n, workers, stock_wall=None):
    """The class's wall time against its floor (the student cells' seconds / workers;
    with the test cells too, the cells' whole compute), the non-cell cost per notebook
    (worker-seconds beyond the cells, the whole run included) and the goals."""
    cells = sum(t["cells"] for t in run["timings"])
    tests = sum(t["judging"] for t in run["timings"])
    figures = {
        "wall": run["wall"], "floor": cells / workers, "floor_with_tests":
        (cells + tests) / workers,
        "non_cell_per_notebook": run["wall"] * workers / n - (cells + tests) / n,
        "outside_phases": run["wall"] - sum(run["phases"].values())}
    figures["x_floor"] = run["wall"] / figures["floor"]
    figures["x_floor_with_tests"] = run["wall"] / figures["floor_with_tests"]
    if stock_wall:
        figures["x_faster_than_stock"] = stock_wall / run["wall"]
    return figures


def print_class(figures, phases):
    print(f"class: {figures['wall']:.1f} s wall; floor {figures['floor']:.1f} s (student "
          f"cells / workers) = {figures['x_floor']:.1f}x (goal <= 3x); with the test "
          f"cells {figures['floor_with_tests']:.1f} s = {figures['x_floor_with_tests']:.1f}x")
    if "x_faster_than_stock" in figures:
        print(f"  {figures['x_faster_than_stock']:.2f}x faster than stock nbgrader "
              "autograde (goal >= 8x)")
    print(f"  non-cell cost per notebook: {figures['non_cell_per_notebook']:.2f} "
          "worker-s beyond the student and test cells, the whole run included "
          "(goal <= 0.5 s)")
    print(f"  phases (s): {phases}; start-up, report and shut-down "
          f"{figures['outside_phases']:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20, help="per assignment")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignments", nargs="*", help="default: the first two")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--before", metavar="REV",
                        help="also grade the class with the grader of git revision REV "
                             "(a worktree of it), in the same run, and print the two "
                             "phase tables side by side")
    parser.add_argument("--cluster", action="store_true",
                        help="also grade with --cluster local:N (N = --workers)")
    parser.add_argument("--no-stock", dest="stock", action="store_false",
                        help="leave out stock nbgrader and grade --no-sandbox")
    args = parser.parse_args(argv)
    if not args.stock:
        return cluster_only(args)
    ids = args.assignments or released_assignments()[:2]
    if len(ids) < 2:
        print(f"note: only {len(ids)} assignment available ({', '.join(ids)}); "
              "the benchmark wants two")
    work = Path(tempfile.mkdtemp(prefix="nncourse-bench-grading-"))
    submitted = work / "submitted"
    build_class(ids, args.students, submitted)
    n = len(list(submitted.glob("*/*/*.ipynb")))
    print(f"{n} submissions: {args.students} students x {len(ids)} assignments "
          f"({', '.join(ids)}); {args.workers} workers; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")

    floor, floor_runs, floor_cpu = floor_seconds()
    print(f"floor (fresh kernel importing torch+torchvision): {floor:.2f} s wall "
          f"(runs: {', '.join(f'{r:.2f}' for r in floor_runs)}), {floor_cpu:.2f} s CPU "
          f"(with the client's own start)")
    base = stock(ids, submitted, work)
    print(f"stock nbgrader autograde: {base['wall']:.1f} s wall, {base['cpu']:.1f} s CPU")
    bare = ours(submitted, work, args.workers, sandbox=False)
    print(f"grade --no-sandbox:       {bare['wall']:.1f} s wall, {bare['cpu']:.1f} s CPU  "
          f"phases {bare['phases']}")
    mine = ours(submitted, work, args.workers)
    print(f"grade (sandboxed):        {mine['wall']:.1f} s wall, {mine['cpu']:.1f} s CPU  "
          f"phases {mine['phases']}")

    speedup = base["wall"] / mine["wall"]
    # what the sandbox adds to a notebook: worker-seconds of the whole run, and the mean
    # job (staging to feedback) as the workers measured it
    sandbox_cost = (mine["wall"] - bare["wall"]) * args.workers / n
    sandbox_job_cost = statistics.mean(mine["jobs"]) - statistics.mean(bare["jobs"])
    print(f"stock / sandboxed grade: {speedup:.2f}x wall (goal >= 8x); "
          f"stock / --no-sandbox: {base['wall'] / bare['wall']:.2f}x")
    print(f"the sandbox costs {sandbox_cost:+.2f} worker-s per notebook over the whole run, "
          f"{sandbox_job_cost:+.2f} s per job (goal <= 0.3 s)")
    # The work of a notebook: its cells in an already warm kernel (grade's kernels have
    # torch imported before the setup cell runs; stock's setup cell pays the import).
    cell_work = sum(mine["cells"]) / n
    stock_overhead = base["wall"] / n - cell_work
    grade_overhead = mine["wall"] * args.workers / n - cell_work
    steady = statistics.mean(j - c for j, c in zip(mine["jobs"], mine["cells"]))
    print(f"CPU: stock / sandboxed grade {base['cpu'] / mine['cpu']:.2f}x")
    print(f"per-notebook overhead (time beyond the {cell_work:.2f} s its cells need):")
    print(f"  stock nbgrader:    {stock_overhead:.2f} s = {stock_overhead / floor:.2f} x floor")
    print(f"  autograders grade: {grade_overhead:.2f} worker-s = "
          f"{grade_overhead / floor:.2f} x floor (goal <= 1.3), all of the run included; "
          f"per job once started {steady:.2f} s = {steady / floor:.2f} x floor")
    print(f"per notebook, CPU: stock {base['cpu'] / n:.2f} s, grade {mine['cpu'] / n:.2f} s "
          f"(everything included), floor {floor_cpu:.2f} s")
    steps = per_notebook(mine, n)
    print("sandboxed grade, per notebook (mean wall seconds; in a worker unless said):")
    for name, seconds in steps.items():
        print(f"  {name:<24} {seconds:6.3f}")
    goals = class_figures(mine, n, args.workers, base["wall"])
    print_class(goals, mine["phases"])
    class_floor = goals["floor"]
    before = compare_before(args.before, submitted, work, args.workers, n, base, mine) \
        if args.before else None
    differ = {k: (v, mine["scores"].get(k), bare["scores"].get(k))
              for k, v in base["scores"].items()
              if any(run["scores"].get(k) is None or abs(run["scores"][k] - v) > 1e-9
                     for run in (mine, bare))}
    print(f"same scores for all {len(base['scores'])} submissions: {not differ}"
          + (f" (differ: {differ})" if differ else ""))
    figures = {"submissions": n, "assignments": ids, "workers": args.workers,
               "floor": floor, "floor_cpu": floor_cpu, "stock_wall": base["wall"], "stock_cpu": base["cpu"],
               "grade_wall": mine["wall"], "grade_cpu": mine["cpu"], "speedup": speedup,
               "no_sandbox_wall": bare["wall"], "no_sandbox_cpu": bare["cpu"],
               "sandbox_cost_per_notebook": sandbox_cost,
               "sandbox_cost_per_job": sandbox_job_cost,
               "stock_overhead": stock_overhead, "grade_overhead": grade_overhead,
               "cell_seconds_per_notebook": cell_work,
               "grade_steady_overhead": steady, "same_scores": not differ,
               "per_notebook": steps, "class_floor": class_floor, "class": goals,
               "before": before,
               "load_average": os.getloadavg()[0]}
    if args.cluster:
        figures.update(compare_cluster(submitted, work, args.workers, n, mine))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if not differ else 1


def compare_before(rev, submitted, work, workers, n, base, mine):
    """The same class graded by the grader of ``rev``: its phases beside this one's."""
    tree = Path(work, "before-tree")
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        then = ours(submitted, work, workers, root=tree)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                       capture_output=True)
    steps = {"before": per_notebook(then, n), "now": per_notebook(mine, n)}
    print(f"per notebook (mean wall seconds), {rev} and now:")
    for name in steps["now"]:
        print(f"  {name:<24} {steps['before'].get(name, 0.0):6.3f} {steps['now'][name]:6.3f}")
    figures = {"before": class_figures(then, n, workers, base["wall"]),
               "now": class_figures(mine, n, workers, base["wall"])}
    for key in ("wall", "floor", "x_floor", "x_floor_with_tests", "x_faster_than_stock",
                "non_cell_per_notebook", "outside_phases"):
        print(f"  {key:<24} {figures['before'][key]:6.2f} {figures['now'][key]:6.2f}")
    print(f"  phases before {then['phases']}\n  phases now    {mine['phases']}")
    same = then["csv"] == mine["csv"]
    print(f"  grades.csv byte-identical: {same}")
    return {"before": steps["before"], "now": steps["now"], "figures": figures,
            "same_csv": same}


CLASS_NOTEBOOKS, CLASS_SECONDS = 3900, 600  # a term of 300 students x 13, in ten minutes


def compare_cluster(submitted, work, workers, n, local):
    """``grade --cluster local:N`` against the local ``grade`` run ``local``."""
    import math
    remote = ours(submitted, work, workers, cluster=f"local:{workers}")
    ratio = local["wall"] / remote["wall"]
    same = remote["csv"] == local["csv"]
    print(f"grade --cluster local:{workers}: {remote['wall']:.1f} s wall, "
          f"{remote['cpu']:.1f} s CPU  phases {remote['phases']}")
    print(f"throughput, cluster / local: {ratio:.2f}x (goal >= 0.9); "
          f"grades.csv byte-identical: {same}")
    cost = statistics.mean(remote["jobs"])  # seconds of one worker thread per notebook
    needed = math.ceil(CLASS_NOTEBOOKS * cost / CLASS_SECONDS)
    print(f"a notebook costs a worker thread {cost:.2f} s on the cluster (mean job); "
          f"{CLASS_NOTEBOOKS} notebooks in {CLASS_SECONDS // 60} minutes need {needed} "
          "worker threads (about 2 cores and --memory + 1 GiB each)")
    return {"cluster_wall": remote["wall"], "cluster_cpu": remote["cpu"],
            "cluster_ratio": ratio, "cluster_same_csv": same,
            "cluster_job_seconds": cost, "cluster_threads_for_term": needed,
            "local_job_seconds": statistics.mean(local["jobs"])}


def cluster_only(args):
    """``--no-stock``: the local ``grade`` and ``grade --cluster local:N``, side by side."""
    ids = args.assignments or released_assignments()[:2]
    work = Path(tempfile.mkdtemp(prefix="nncourse-bench-grading-"))
    submitted = work / "submitted"
    build_class(ids, args.students, submitted)
    n = len(list(submitted.glob("*/*/*.ipynb")))
    print(f"{n} submissions: {args.students} students x {len(ids)} assignments "
          f"({', '.join(ids)}); {args.workers} workers; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    mine = ours(submitted, work, args.workers)
    print(f"grade (sandboxed):        {mine['wall']:.1f} s wall, {mine['cpu']:.1f} s CPU  "
          f"phases {mine['phases']}")
    figures = {"submissions": n, "assignments": ids, "workers": args.workers,
               "grade_wall": mine["wall"], "grade_cpu": mine["cpu"],
               **compare_cluster(submitted, work, args.workers, n, mine)}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if figures["cluster_same_csv"] else 1


if __name__ == "__main__":
    sys.exit(main())
