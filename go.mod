module github.com/ftpshare/ftpshare

go 1.26.8

require (
	github.com/jlaffaye/ftp v0.2.4 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
