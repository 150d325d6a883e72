std = "max"
max_line_length = 160
files["spec/"] = { std = "+busted" }
files["bench/"] = { globals = {} }
exclude_files = { "build*/", ".ci/", ".rocks/" }
