"""spark-submit entry point: see `./spark-submit.sh fraud --help`."""

from lakecart.jobs.fraud import main

if __name__ == "__main__":
    main()
