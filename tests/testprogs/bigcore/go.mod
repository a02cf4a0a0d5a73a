module example.com/bigcore

go 1.21
