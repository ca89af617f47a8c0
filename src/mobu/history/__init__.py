"""History kept by the service: per flock and event type per minute, and a failure log.

See docs/history.md. :class:`History` owns the recorder (an event sink and failure reporter),
the writer task and the store; :class:`HistoryReader` answers the API's questions.
"""

from mobu.history.config import HistoryConfig
from mobu.history.reads import HistoryReader
from mobu.history.recorder import HistoryRecorder
from mobu.history.service import History
from mobu.history.store import HistoryStore

__all__ = ["History", "HistoryConfig", "HistoryReader", "HistoryRecorder", "HistoryStore"]
