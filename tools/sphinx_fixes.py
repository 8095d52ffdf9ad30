"""Sphinx extension: work-arounds for upstream bugs that fail or stall the book's build.

1. Duplicate inline scripts (Sphinx 7.4 with sphinx-thebe 0.3).  sphinx-thebe
   adds its inline configuration script (``const THEBE_JS_URL = ...``) after the
   HTML builder has started.  Sphinx then lists it twice, once with the file
   name ``None`` and once with ``''``, which its de-duplication treats as
   different, so every page declared the same ``const`` twice and raised
   "Identifier 'THEBE_JS_URL' has already been declared".  :func:`dedupe_scripts`
   drops such repeats from each page's script list.

2. Missed kernel replies (pyzmq's asyncio poller with jupyter_client).  The
   notebook client waits for a cell's reply with one long ``poll`` on a ZeroMQ
   socket.  ZeroMQ signals new messages by an edge-triggered file descriptor,
   and on a busy machine that edge was sometimes consumed before the poll
   watched it: the reply sat in the socket, the kernel sat idle, and the build
   waited out the whole cell timeout (600 s) before the poller's final check
   found the message.  :func:`slice_kernel_polls` makes every wait poll in
   slices of at most :data:`POLL_SLICE_S`, each ending with that final check, so
   a missed wake-up costs at most half a second.
"""
from __future__ import annotations

import time
from queue import Empty

POLL_SLICE_S = 0.5


def _script_key(script) -> tuple:
    return (str(script.filename or ""), script.priority, tuple(sorted(script.attributes.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def slice_kernel_polls(channel_class=None) -> None:
    """Make ``channel_class.get_msg`` (jupyter_client's asyncio channel) wait in short slices."""
    if channel_class is None:
        from jupyter_client.channels import AsyncZMQSocketChannel as channel_class
    original = channel_class.get_msg
    if getattr(original, "sliced", False):
        return

    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await original(self, timeout=POLL_SLICE_S if remaining is None
                                      else min(POLL_SLICE_S, remaining))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    get_msg.sliced = True
    get_msg.__doc__ = original.__doc__
    channel_class.get_msg = get_msg


def setup(app):
    app.connect("html-page-context", dedupe_scripts)
    slice_kernel_polls()
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
