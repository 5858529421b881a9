-- The soak boot's plan (make soak, docs/reliability.md "Soak"): runs the
-- soak (soak/main.lua), which ends QEMU with its verdict. An error in it
-- ends QEMU too, with a failure, rather than the rescue prompt main.c
-- gives a failed boot plan (the archive has the system's rescue.lua):
-- tests/soak/run.py then reports it at once, not at its timeout.
-- This plan runs for minutes: main.c's boot deadline is for the system's
-- plan, not for this one.
debug.sethook()
local ok, err = xpcall(dofile, debug.traceback, "soak/main.lua")
print("soak: FAIL: " .. (ok and "the soak returned without a verdict" or tostring(err)))
os.exit(1)
