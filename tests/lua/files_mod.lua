return {version = 1}
