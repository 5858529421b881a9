-- A module of tests/scripts/, which the build packs the way it packs a
-- user's `make SCRIPTS=folder` (only .lua files, at the archive's root):
-- require "mymod.deep" finds it as mymod/deep.lua.
return { where = "tests/scripts/mymod/deep.lua", name = ... }
