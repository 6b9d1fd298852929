"""A JupyterHub for a class (``make hub``, ``python -m autograders hub``): docs/hub.md.

One instructor and N students, each a local Unix account that this command creates
(``nnc-instructor``, ``nnc-student1``, ...), each with a password of its own. JupyterHub
logs them in with PAM, its default authenticator, and starts every JupyterLab as its own
Unix user (``LocalProcessSpawner``), so that the exchange's Unix permissions keep the
students apart: nobody reads another's submission, feedback or home. It is a demo, not a
class server: the accounts and their passwords are made up on this machine (a class signs
in through its university, with an OAuth or LTI authenticator), the hub listens on plain
HTTP (a class server sits behind TLS), and every user's JupyterLab runs on this machine.

What each role gets:

- the instructor: the course in ``~/nn-course`` (its ``nbgrader_config.py``, ``source/``,
  ``release/``), JupyterLab with every nbgrader extension (formgrader, course list,
  create assignment), and the grader (``python -m autograders grade``);
- a student: JupyterLab with the Assignment List and Validate only, set up by the same
  files as the student bundle (``jupyter/student``);
- everybody: nbgrader's exchange at ``STATE/exchange`` with ``path_includes_course``, so
  that several courses can share one hub.

The hub must start as root (it creates accounts and starts servers as their users). When
the course's Python lives where other users cannot reach it (pyenv in root's home), the
hub runs in a private mount namespace that lays a tmpfs over /root and puts back only the
Python and the course: nothing changes on the machine.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograders import RELEASE, ROOT, SOURCE
from autograders.settings import add_arguments as add_setting_arguments
from autograders.settings import from_args as settings_from_args
from autograders.settings import setting

# The GECOS field of accounts made here: an account without it is never changed.
ACCOUNT_TAG = "nn-course hub demo account"
COURSE_FOLDER = "nn-course"          # in the instructor's home
PROXY_PACKAGE = "configurable-http-proxy@5"
STUDENT_CONFIG = ROOT / "jupyter" / "student"


@dataclass
class HubSettings:
    state: str = setting(str(ROOT / ".hub"), "folder of the hub's database, the homes, "
                          "the exchange and the passwords (default: .hub)", "--state")
    ip: str = setting("127.0.0.1", "address the hub listens on (default: %(default)s)",
                       "--ip")
    port: int = setting(8000, "port of the hub (default: %(default)s)", "--port",
                         type=int)
    prefix: str = setting("nnc-", "start of every account name (default: %(default)s)",
                           "--prefix")
    students: int = setting(2, "number of student accounts (default: %(default)s)",
                             "--students", type=int)
    course_id: str = setting("nn-course", "the course's id in the exchange "
                              "(default: %(default)s)", "--course")
    start_timeout: int = setting(180, "seconds a JupyterLab may take to start "
                                  "(default: %(default)s)", "--start-timeout", type=int)

    @property
    def root(self):
        return Path(self.state).resolve()

    @property
    def instructor(self):
        return f"{self.prefix}instructor"

    @property
    def student_names(self):
        return [f"{self.prefix}student{i}" for i in range(1, self.students + 1)]

    @property
    def users(self):
        return [self.instructor, *self.student_names]

    @property
    def exchange(self):
        return self.root / "exchange"

    @property
    def proxy(self):
        return Path(sys.prefix, "hub", "node_modules", ".bin", "configurable-http-proxy")

    def home(self, user):
        return self.root / "home" / user


def add_arguments(parser):
    add_setting_arguments(parser, HubSettings)
    parser.add_argument("--setup-only", action="store_true",
                        help="make the accounts and their configuration, start nothing")
    parser.add_argument("--remove", action="store_true",
                        help="delete the demo accounts and the state folder, start "
                             "nothing")


def from_args(args):
    return settings_from_args(args, HubSettings)


class HubError(RuntimeError):
    """What stops the hub from starting, in words for the person who ran it."""


# ----------------------------------------------------------------------------------------
# 1. what the hub needs: root, the proxy


def check_root():
    if os.geteuid() != 0:
        raise HubError("the hub must start as root: it makes the demo accounts and "
                       "starts each user's JupyterLab as that user (run `sudo make hub`)")


def ensure_proxy(settings, say=print):
    """configurable-http-proxy from the npm registry, in the venv; Node.js from Debian."""
    if settings.proxy.exists():
        return settings.proxy
    if not shutil.which("npm"):
        if not shutil.which("apt-get"):
            raise HubError("Node.js and npm are missing: install them, then run again")
        say("installing Node.js and npm (Debian's packages)")
        subprocess.run(["apt-get", "install", "-y", "-q", "nodejs", "npm"], check=True,
                       stdout=subprocess.DEVNULL)
    say(f"installing {PROXY_PACKAGE} from the npm registry")
    folder = settings.proxy.parents[2]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                    "--loglevel=error", PROXY_PACKAGE], check=True,
                   stdout=subprocess.DEVNULL)
    if not settings.proxy.exists():
        raise HubError(f"npm did not install {settings.proxy}")
    return settings.proxy


# ----------------------------------------------------------------------------------------
# 2. the accounts and what each role gets


def _account(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def make_accounts(settings):
    """Create (or reset) every demo account; return ``{name: password}``."""
    (settings.root / "home").mkdir(parents=True, exist_ok=True)
    os.chmod(settings.root, 0o755)
    os.chmod(settings.root / "home", 0o755)
    passwords = {}
    for name in settings.users:
        account = _account(name)
        if account is not None and account.pw_gecos != ACCOUNT_TAG:
            raise HubError(f"an account {name!r} exists and was not made by this "
                           "command: choose another --prefix")
        home = settings.home(name)
        if account is None:
            subprocess.run(["useradd", "--create-home", "--home-dir", str(home),
                            "--shell", "/bin/bash", "--comment", ACCOUNT_TAG, name],
                           check=True)
        elif Path(account.pw_dir) != home:
            subprocess.run(["usermod", "--home", str(home), name], check=True)
        home.mkdir(parents=True, exist_ok=True)
        account = _account(name)
        os.chown(home, account.pw_uid, account.pw_gid)
        os.chmod(home, 0o700)
        passwords[name] = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{passwords[name]}\n", text=True,
                       check=True)
    path = settings.root / "passwords.json"
    path.write_text(json.dumps(passwords, indent=1) + "\n")
    os.chmod(path, 0o600)
    return passwords


def remove_accounts(settings):
    for name in settings.users:
        account = _account(name)
        if account is not None and account.pw_gecos == ACCOUNT_TAG:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            subprocess.run(["userdel", name], check=False, stderr=subprocess.DEVNULL)


def _write_as(user, home, rel, text):
    """Write ``home/rel``, the folders on the way and the file owned by ``user``."""
    account = _account(user)
    path = home / rel
    for folder in reversed(path.relative_to(home).parents[:-1]):
        (home / folder).mkdir(exist_ok=True)
        os.chown(home / folder, account.pw_uid, account.pw_gid)
    path.write_text(text)
    os.chown(path, account.pw_uid, account.pw_gid)


def _chown_tree(path, user):
    account = _account(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, account.pw_uid, account.pw_gid, follow_symlinks=False)


def setup_course(settings):
    """The exchange, the instructor's course and every user's nbgrader configuration."""
    settings.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.exchange, 0o1777)   # everyone writes, nobody deletes others' files
    course = settings.home(settings.instructor) / COURSE_FOLDER
    if not course.exists():
        course.mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        shutil.copytree(SOURCE, course / "source", ignore=ignore)
        shutil.copytree(RELEASE, course / "release", ignore=ignore)
        _chown_tree(course, settings.instructor)
    lines = ["c = get_config()  # noqa: F821",
             f"c.Exchange.root = {str(settings.exchange)!r}",
             "c.Exchange.path_includes_course = True"]
    instructor = lines + [f"c.CourseDirectory.root = {str(course)!r}",
                          f"c.CourseDirectory.course_id = {settings.course_id!r}"]
    config = Path(".jupyter", "nbgrader_config.py")
    _write_as(settings.instructor, settings.home(settings.instructor), config,
              "\n".join(instructor) + "\n")
    for student in settings.student_names:
        _write_as(student, settings.home(student), config, "\n".join(lines) + "\n")
    return course


# ----------------------------------------------------------------------------------------
# 3. the hub's configuration


def hub_config(settings, hub_port, proxy_api_port):
    """The text of ``jupyterhub_config.py``: every value written here, none elsewhere."""
    venv_bin = str(Path(sys.executable).parent)
    values = {
        "state": str(settings.root), "ip": settings.ip, "port": settings.port,
        "hub_port": hub_port, "proxy_api_port": proxy_api_port,
        "proxy": str(settings.proxy),
        "singleuser": str(Path(venv_bin, "jupyterhub-singleuser")),
        "path": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "instructor": settings.instructor, "students": settings.student_names,
        "student_config": str(STUDENT_CONFIG), "start_timeout": settings.start_timeout,
    }
    return f'''"""The demo's JupyterHub, as `python -m autograders hub` wrote it."""
import json

v = json.loads({json.dumps(json.dumps(values))})
c = get_config()  # noqa: F821

c.JupyterHub.bind_url = f"http://{{v['ip']}}:{{v['port']}}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = v["hub_port"]
c.ConfigurableHTTPProxy.command = [v["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{{v['proxy_api_port']}}"
c.JupyterHub.db_url = f"sqlite:///{{v['state']}}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{{v['state']}}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{{v['state']}}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True     # stopping the hub stops every JupyterLab
c.JupyterHub.cleanup_proxy = True

# PAM: each demo account's own password (made by the command, in passwords.json)
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {{v["instructor"], *v["students"]}}
c.Authenticator.admin_users = {{v["instructor"]}}
c.PAMAuthenticator.open_sessions = False

# every JupyterLab runs as its own Unix user, in its home, from the course's venv
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [v["singleuser"]]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = v["start_timeout"]
c.Spawner.http_timeout = v["start_timeout"]
c.Spawner.environment = {{"PATH": v["path"], "PYTHONWARNINGS": "ignore"}}


def role_environment(spawner):
    """Students get the student bundle's JupyterLab: no formgrader, no course tools."""
    if spawner.user.name in v["students"]:
        spawner.environment["JUPYTER_CONFIG_PATH"] = v["student_config"]


c.Spawner.pre_spawn_hook = role_environment
'''


def free_port():
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(settings):
    path = settings.root / "jupyterhub_config.py"
    path.write_text(hub_config(settings, free_port(), free_port()))
    os.chmod(path, 0o600)
    return path


# ----------------------------------------------------------------------------------------
# 4. starting it


def _reachable_by_others(path):
    """Whether a user other than root can reach ``path`` (every folder above it
    searchable by others)."""
    path = Path(path).resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.is_dir())


def hub_command(settings, config):
    """The command that runs the hub: in a private mount namespace when the course's
    Python or the course lies where the users cannot reach it."""
    hub = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)]
    hidden = [p for p in (Path(sys.base_prefix), ROOT, settings.root)
              if not _reachable_by_others(p)]
    if not hidden:
        return hub
    if not all(str(Path(p).resolve()).startswith("/root/") for p in hidden):
        raise HubError("other users cannot reach " + ", ".join(map(str, hidden)) +
                       ": put the course (or --state) where they can")
    # a tmpfs over /root, then each hidden folder put back in its place
    script = ('set -e; keep=$(mktemp -d); i=0; for p in "$@"; do mkdir -p "$keep/$i"; '
              'mount --bind "$p" "$keep/$i"; i=$((i+1)); done; '
              'mount -t tmpfs -o mode=0755 tmpfs /root; i=0; for p in "$@"; do '
              'mkdir -p "$p"; mount --move "$keep/$i" "$p"; i=$((i+1)); done; '
              f'exec {" ".join(hub)}')
    return ["unshare", "--mount", "--propagation", "private", "bash", "-c", script,
            "hub", *[str(Path(p).resolve()) for p in hidden]]


def prepare(settings, say=print):
    """Everything but starting: root, the proxy, the accounts, the course, the config."""
    check_root()
    settings.root.mkdir(parents=True, exist_ok=True)
    ensure_proxy(settings, say)
    passwords = make_accounts(settings)
    course = setup_course(settings)
    config = write_config(settings)
    return passwords, course, config


def run_as(settings, user, command, cwd=None, timeout=600):
    """Run ``command`` as the demo account ``user``, as they would in a terminal of their
    JupyterLab: in the hub's mount namespace, in ``cwd`` (default: their home), with the
    course's venv on PATH. Returns the ``CompletedProcess`` (output as text)."""
    account = _account(user)
    if account is None or account.pw_gecos != ACCOUNT_TAG:
        raise HubError(f"{user!r} is not a demo account")
    env = ["env", "-i", f"HOME={account.pw_dir}", f"USER={user}", f"LOGNAME={user}",
           f"PATH={Path(sys.executable).parent}:/usr/bin:/bin", "LANG=C.UTF-8"]
    shell = ["bash", "-c", 'cd "$0" && exec "$@"', str(cwd or account.pw_dir), *command]
    cmd = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
           "--init-groups", *env, *shell]
    pid_file = settings.root / "jupyterhub.pid"
    if pid_file.exists():
        cmd = ["nsenter", "-t", pid_file.read_text().strip(), "-m", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main(args):
    settings = from_args(args)
    try:
        if args.remove:
            check_root()
            remove_accounts(settings)
            shutil.rmtree(settings.root, ignore_errors=True)
            print(f"removed the demo accounts and {settings.root}")
            return 0
        passwords, course, config = prepare(settings)
    except (HubError, subprocess.CalledProcessError) as err:
        print(f"make hub: {err}", file=sys.stderr)
        return 1
    print(f"JupyterHub of {settings.course_id}: http://{settings.ip}:{settings.port}/")
    print(f"  the instructor's course: {course}")
    for name, password in passwords.items():
        role = "instructor" if name == settings.instructor else "student"
        print(f"  {role:10} {name:20} password {password}")
    print(f"  (also in {settings.root / 'passwords.json'}, readable by root only)")
    if args.setup_only:
        return 0
    proc = subprocess.Popen(hub_command(settings, config), cwd=settings.root)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()

