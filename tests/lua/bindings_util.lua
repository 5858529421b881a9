-- Helpers of the l4 binding tests (bindings.lua, bindings_ipc.lua,
-- bindings_dev.lua): each of those returns its cases in order,
-- {name, function}; init.lua runs them.
local M = {}

function M.eq(got, want, what)
  if got ~= want or math.type(got) ~= math.type(want) then
    error(("%s: got %s (%s), want %s (%s)"):format(what or "value",
      tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

-- An expected failure: nil, exactly `msg`, `code`.
function M.fails(msg, code, ok, got_msg, got_code, ...)
  if ok ~= nil or got_msg ~= msg or got_code ~= code then
    error(("want nil, %q, %s; got %s, %s, %s"):format(msg, tostring(code),
      tostring(ok), tostring(got_msg), tostring(got_code)), 2)
  end
end

-- Misuse: fn(...) raises an error whose message contains each text.
function M.raises(texts, fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("no error raised", 2) end
  e = tostring(e)
  for _, t in ipairs(type(texts) == "table" and texts or {texts}) do
    if not e:find(t, 1, true) then
      error(("error %q lacks %q"):format(e, t), 2)
    end
  end
  return e
end

function M.cases()
  local cases = {}
  return cases, function(name, fn) cases[#cases + 1] = {name, fn} end
end

return M
