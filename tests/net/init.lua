-- The network boot's plan (tests/run.py "net", with a virtio-net card on
-- QEMU's user network and forwards the runner chose): the name service,
-- then a supervisor with the entries of the system's plan that drive the
-- network (scripts/init.lua: "devices", "net0", "net"), then the cases of
-- tests/net/cases.lua, which talk to the runner's servers on the host.
-- Prints "ok <case>" / "FAIL <case>: <why>" and "ktest: N passed, M
-- failed", and ends QEMU.
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
  {name = "net0", script = "virtio_net.lua", args = {"net0"}, ping = 1,
   restart = "on-failure", prio = 160, memcap = 8 << 20},
  {name = "net", script = "net.lua", args = {"net0"}, ping = 1,
   restart = "always", prio = 155, memcap = 32 << 20},
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
