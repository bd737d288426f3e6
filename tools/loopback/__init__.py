"""A loopback AWS for the tests and the offline demo: SageMaker runtime, SageMaker and
CloudFormation answered on 127.0.0.1 in their real wire protocols (aws.py), and what each model
server streams (samples.py)."""
