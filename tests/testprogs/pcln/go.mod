module pcln

go 1.21
