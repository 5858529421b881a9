-- The disk boot's plan (tests/run.py "lua.blk", with a virtio-blk disk
-- whose sectors the runner filled with a pattern): the name service, then
-- a supervisor with the two entries of the system's plan that drive disks
-- (scripts/init.lua: the device manager "devices", the driver "disk0"),
-- then the cases of tests/blk/cases.lua. Prints "ok <case>" / "FAIL
-- <case>: <why>" and "ktest: N passed, M failed", and ends QEMU; the
-- runner then checks on the host the sectors the cases wrote.
debug.sethook()
local names = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                   args = {"names", "names.lua", false, false, false, n = 5},
                                   prio = 190, memcap = 4 << 20})
require("names").use(names)
l4.sys.set_names(names)
assert(require("supervisor").start{names = names, prio = 210, services = {
  -- as in scripts/init.lua
  {name = "devices", script = "devmgr.lua", thread = true, restart = "always",
   prio = 175, memcap = 4 << 20},
  {name = "disk0", script = "virtio_blk.lua", args = {"disk0"}, ping = 1,
   restart = "on-failure", prio = 160, memcap = 8 << 20},
}})

local passed, failed = 0, 0
for _, c in ipairs(require "cases") do
  local ok, err = xpcall(c[2], debug.traceback)
  if ok then
    passed = passed + 1
    print("ok " .. c[1])
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(c[1], tostring(err)))
  end
end
print(("ktest: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
