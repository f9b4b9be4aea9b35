module quadshare

go 1.26
