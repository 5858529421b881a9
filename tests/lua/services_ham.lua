-- The service the hammer test reloads (tests/lua/services.lua): label 1
-- answers the request's sequence number, this version and the number of
-- requests served in all (kept across versions by migrate).
local VERSION = 1

return {
  name = "ham",
  version = VERSION,
  init = function(state) state.count = 0 end,
  migrate = function(old) return {count = old.count, migrated = (old.migrated or 0) + 1} end,
  handlers = {
    [1] = function(state, from, seq)
      state.count = state.count + 1
      return seq, VERSION, state.count
    end,
    [2] = function(state) return state.count, state.migrated or 0 end,
  },
}
