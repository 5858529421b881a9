-- A service of tests/lua/services.lua that cannot stay up: its
-- configuration says how it ends at start ("error": a Lua error,
-- "exit": os.exit(0)).
return {
  name = "crash",
  version = 1,
  init = function(state)
    local mode = state.config and state.config.mode or "error"
    if mode == "exit" then os.exit(0) end
    error("crash: broken on purpose", 0)
  end,
  handlers = {},
}
