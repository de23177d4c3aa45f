print("satmeter")
