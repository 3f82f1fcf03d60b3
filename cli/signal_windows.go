package cli

func ignoreSIGPIPE() {}
