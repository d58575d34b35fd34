"""Join-info detection (pure functions): ``extract_join_info`` is the contract other code uses."""

from shared.parsing.extract import extract_join_info
from shared.parsing.model import Candidate, JoinInfo

__all__ = ["Candidate", "JoinInfo", "extract_join_info"]
