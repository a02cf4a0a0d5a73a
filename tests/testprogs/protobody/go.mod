module example.com/protobody

go 1.21
