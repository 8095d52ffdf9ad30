"""tools.sphinx_fixes: the script de-duplication and the sliced kernel polls."""
import asyncio
import concurrent.futures
from queue import Empty
from types import SimpleNamespace

import pytest

from tools import sphinx_fixes


class _Script(SimpleNamespace):
    pass


def test_inline_script_listed_as_none_and_as_empty_name_is_kept_once():
    body = {"body": "const THEBE_JS_URL = 'x'"}
    scripts = [_Script(filename=None, priority=500, attributes=body),
               _Script(filename="doctools.js", priority=200, attributes={}),
               _Script(filename="", priority=500, attributes=dict(body))]
    context = {"script_files": scripts}
    sphinx_fixes.dedupe_scripts(None, "page", "page.html", context, None)
    assert [s.filename for s in context["script_files"]] == [None, "doctools.js"]


def _run(coroutine):
    """asyncio.run in a thread of its own: the browser tests keep an event loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _channel(replies):
    """A channel class whose get_msg behaves like a poll that only sees ``replies`` in order."""
    calls = []

    class Channel:
        async def get_msg(self, timeout=None):
            calls.append(timeout)
            reply = replies.pop(0) if replies else None
            if reply is None:
                if timeout:
                    await asyncio.sleep(min(timeout, 0.01))
                raise Empty
            return reply

    sphinx_fixes.slice_kernel_polls(Channel)
    return Channel(), calls


def test_a_long_wait_is_polled_in_short_slices_and_finds_a_late_message():
    channel, calls = _channel([None, None, {"msg": "reply"}])
    assert _run(channel.get_msg(timeout=600)) == {"msg": "reply"}
    assert len(calls) == 3 and all(t <= sphinx_fixes.POLL_SLICE_S for t in calls)


def test_waiting_forever_is_sliced_too():
    channel, calls = _channel([None, {"msg": "late"}])
    assert _run(channel.get_msg(timeout=None)) == {"msg": "late"}
    assert calls == [sphinx_fixes.POLL_SLICE_S, sphinx_fixes.POLL_SLICE_S]


def test_the_timeout_still_raises_empty_when_nothing_comes():
    channel, calls = _channel([])
    with pytest.raises(Empty):
        _run(channel.get_msg(timeout=0.05))
    assert calls and all(t <= 0.05 for t in calls)


def test_patching_twice_does_not_wrap_twice():
    class Channel:
        async def get_msg(self, timeout=None):
            return "x"

    sphinx_fixes.slice_kernel_polls(Channel)
    first = Channel.get_msg
    sphinx_fixes.slice_kernel_polls(Channel)
    assert Channel.get_msg is first
