"""The studio on its own web page: voila serves ``app.ipynb`` (the app, nothing else) to each visitor.

``python -m nst_studio [voila options]`` (``python3 course.py studio``) runs::

    voila nst_studio/app.ipynb --port=8866 --preheat_kernel=True --pool_size=1
          --MappingKernelManager.cull_idle_timeout=900 --MappingKernelManager.cull_interval=60
          --MappingKernelManager.cull_connected=True

- **A kernel per visitor, and it goes away.** Each page load gets its own kernel (TensorFlow, VGG19 and
  the images: lesson 10 measures its resident memory after a transfer). Voila shuts it down when the page closes (the page's ``beforeunload``); a
  page that closes without saying so (a crashed tab, a phone putting the browser to sleep) or stays
  open unused loses its kernel after :data:`CULL_IDLE_S` seconds without activity (checked every
  :data:`CULL_INTERVAL_S` s; a running Generate counts as activity). A day of visitors therefore
  holds at most the kernels of the last quarter of an hour.
- **Fast first paint.** One kernel is kept pre-heated: it has already run the page (TensorFlow
  imported, VGG19 built), so a visitor gets the app at once; the next one is heated in the background.
  That kernel is the one idle kernel the server always holds.

Options given on the command line come after these and win (e.g. ``--port=9000``, ``--no-browser``).

The page (``app.ipynb``) is one call, :func:`show_app`.
"""

from __future__ import annotations

from pathlib import Path

#: The app page: one cell that shows the studio.
APP = Path(__file__).with_name("app.ipynb")
PORT = 8866
#: Seconds without any activity after which a visitor's kernel is shut down.
CULL_IDLE_S = 900
#: How often (s) the server looks for such kernels.
CULL_INTERVAL_S = 60


#: voila's options that the studio sets, as ``{option: value}``; the short names are voila's aliases.
OPTIONS: dict[str, str] = {
    "port": str(PORT),
    "preheat_kernel": "True",
    "pool_size": "1",
    "MappingKernelManager.cull_idle_timeout": str(CULL_IDLE_S),
    "MappingKernelManager.cull_interval": str(CULL_INTERVAL_S),
    "MappingKernelManager.cull_connected": "True",
}
_ALIASES = {"Voila.port": "port", "VoilaConfiguration.preheat_kernel": "preheat_kernel",
            "VoilaConfiguration.default_pool_size": "pool_size"}


def voila_args(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The voila command line (without ``voila``): the app page and :data:`OPTIONS`, where ``extra``
    (``--name=value`` or ``--name value``) replaces an option of the same name (voila refuses to be
    given one twice)."""
    given = {arg[2:].split("=", 1)[0] for arg in extra if arg.startswith("--")}
    given |= {_ALIASES.get(name, name) for name in given}
    return [str(APP), *(f"--{name}={value}" for name, value in OPTIONS.items() if name not in given), *extra]


#: voila 0.5's page asks the server to shut its kernel down when it closes (a ``sendBeacon`` POST on
#: ``beforeunload``) with the ``_xsrf`` cookie as its form token, but nothing ever sets that cookie, so
#: the server refuses the request (403, voila issue #1458) and every visit's kernel stayed until the
#: server stopped. The page sets the cookie itself, a random token of its own origin, which is all the
#: check compares (the cookie and the form field must agree); nothing is relaxed on the server.
XSRF_COOKIE_JS = ("document.cookie.includes('_xsrf=') || (document.cookie = '_xsrf=' + "
                  "crypto.randomUUID().replaceAll('-', '') + '; path=/; SameSite=Strict');")


def show_app():
    """What the app page shows: the studio with its title and help, VGG19 built at once (before a visitor
    presses Generate: the page is pre-heated), and the cookie that lets the page close its kernel."""
    from IPython.display import Javascript, display

    from nst_studio.app import Studio

    studio = Studio()
    studio.warm_up()
    studio.show()
    display(Javascript(XSRF_COOKIE_JS))
    return studio


def main(argv: list[str]) -> int:
    """Serve the studio until Ctrl-C."""
    from voila.app import Voila

    args = voila_args(argv)
    port = next((a.split("=", 1)[1] for a in args if a.startswith(("--port=", "--Voila.port="))), PORT)
    print(f"[studio] serving the studio at http://localhost:{port} (a kernel per visitor, shut down when "
          f"the page closes or after {CULL_IDLE_S // 60} idle minutes); Ctrl-C stops", flush=True)
    Voila.launch_instance(argv=args)
    return 0
