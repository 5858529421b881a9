-- services/echo.lua: the example service (docs/services.md, and the
-- tutorial's). Label 1 echoes its values after a count of the requests
-- served so far; 2 gives the count; 3 raises an error with its message.
-- Edit it, then `reload echo` at the REPL: the count survives (migrate).
local ECHO, COUNT, FAIL = 1, 2, 3

return {
  name = "echo",
  version = 1,

  init = function(state)
    state.count = 0
  end,

  -- a state of any earlier version: keep the count
  migrate = function(old)
    return {count = old.count or 0}
  end,

  handlers = {
    [ECHO] = function(state, from, ...)
      state.count = state.count + 1
      return state.count, ...
    end,
    [COUNT] = function(state)
      return state.count
    end,
    [FAIL] = function(state, from, message)
      error(message or "asked to fail", 0)
    end,
  },
}
