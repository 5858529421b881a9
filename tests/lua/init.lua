-- The test archive's init.lua (tests/run.py boots lua-root.elf with this
-- archive as "scripts"): runs LPeg's own test suite (lpeg-test.lua, put
-- into the archive at build time from the dependency cache) and smoke.lua,
-- prints "ok <name>" / "FAIL <name>: <why>" per case and the summary line
-- "ktest: N passed, M failed", then ends QEMU with the status.
local passed, failed = 0, 0

local function run(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
    if err ~= "printed" then print("ok " .. name) end
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(name, tostring(err)))
  end
end

-- LPeg's suite prints as it goes and raises an error on the first failure.
run("lpeg_own_test_suite", function() dofile("lpeg-test.lua") end)

for _, c in ipairs(require "smoke") do run(c[1], c[2]) end

print(("ktest: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
