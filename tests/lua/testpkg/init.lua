-- Found by require "testpkg" through package.path's "?/init.lua".
return { answer = 42, name = ... }
