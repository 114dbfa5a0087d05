"""Sign-in and sign-out under the corpus, last: each on a session of its own (see sessions.py)."""

from conftest import run_cases, world
import sessions

_pool = []


def pool():
    if not _pool:
        _pool.append(sessions.LoginPool(world()))
    return _pool[0]


def test_login_field(login_field):
    w = world()
    run_cases(f"POST /login field {login_field}", lambda: sessions.run_login_field(w, pool(), login_field))


def test_logout_csrf():
    w = world()
    run_cases("POST /logout field _csrf", lambda: sessions.run_logout(w))
