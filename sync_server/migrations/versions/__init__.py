"""One module per revision, oldest first: ``r0001_baseline``, ``r0002_operations``…"""
