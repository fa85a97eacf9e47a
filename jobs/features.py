"""spark-submit entry point: see `./spark-submit.sh features --help`."""

from lakecart.jobs.features import main

if __name__ == "__main__":
    main()
