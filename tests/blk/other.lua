-- A task of another name than hostile.lua's (cases.lua "devmgr_refusals"):
-- the function hostile.lua held is kept for a task of that name.
local device = require "device"
local ok, msg = device.claim(0x8086, 0x7010)
assert(ok == nil and msg:find("kept for a task named hostile"), tostring(msg))
os.exit(0)
