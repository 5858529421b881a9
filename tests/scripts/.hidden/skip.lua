error("hidden folders are not packed")
