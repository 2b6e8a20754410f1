import sys; sys.audit("seatrace.first", __file__)  # noqa: E702  (must stay the first line)
sys.audit("seatrace.second")
