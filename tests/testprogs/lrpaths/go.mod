module example.com/lrpaths

go 1.21
