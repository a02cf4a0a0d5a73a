module quote

go 1.21
