"""python -m autograders COMMAND: the instructor's tools (see README.md, "Instructors")."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograders", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")

    p = sub.add_parser("prove", aliases=["mutants"],
                       help="prove each exercise both ways: reference and alternatives "
                            "full marks, blank zero, mutants caught")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--each", action="store_true",
                   help="grade every mutant and alternative in its own notebook "
                        "(slower; implies --stock)")
    p.add_argument("--stock", action="store_true",
                   help="grade with the `nbgrader autograde` command (fresh kernels)")

    p = sub.add_parser("grade", help="grade a class: parallel, bounded, into grades.csv")
    from autograders.grade import add_arguments as add_grade_arguments
    add_grade_arguments(p)

    p = sub.add_parser("bundle", help="write the student zip (release/, lessons, nncourse)")
    p.add_argument("--out", help="zip to write (default: dist/nn-course-student.zip)")

    p = sub.add_parser("execute", help="re-execute lessons in place (their outputs)")
    p.add_argument("notebooks", nargs="*", help="notebook paths (default: notebooks/)")

    p = sub.add_parser("i18n", help="translations: what needs translating (status), "
                                    "catalogues from the English notebooks (extract), the "
                                    "translated notebooks (build)")
    p.add_argument("action", choices=["status", "extract", "build"])
    p.add_argument("--language", default="zh_CN")

    p = sub.add_parser("hub", help="a JupyterHub for the class on this machine: an "
                                   "instructor, students, nbgrader's exchange (docs/hub.md)")
    from autograders.hub import add_arguments as add_hub_arguments
    add_hub_arguments(p)

    args = parser.parse_args(argv)
    if args.command == "release":
        from autograders.release import release
        for folder in release(args.assignments):
            print(f"released {folder}")
        return 0
    if args.command in ("prove", "mutants"):
        from autograders.proof import main as prove_main
        return prove_main(args.assignments, args.workers, args.each, args.stock)
    if args.command == "grade":
        from autograders.grade import main as grade_main
        return grade_main(args)
    if args.command == "bundle":
        from autograders.bundle import main as bundle_main
        return bundle_main(args.out)
    if args.command == "execute":
        from autograders.execute import execute_in_place
        execute_in_place(args.notebooks)
        return 0
    if args.command == "i18n":
        from autograders.i18n import main as i18n_main
        return i18n_main(args.action, args.language)
    if args.command == "hub":
        from autograders.hub import main as hub_main
        return hub_main(args)
    return 2


def leave(code):
    """Exit without Python's teardown of the ~1,400 modules a grading run imported (0.4 s
    the instructor waits for): everything is written and closed, every process stopped;
    the exit handlers still run (multiprocessing's removes its folder in TMPDIR)."""
    import atexit
    import os
    atexit._run_exitfuncs()  # what sys.exit would run, before the teardown it skips
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] == ["grade"] and isinstance(code, int):
        leave(code)
    sys.exit(code)
