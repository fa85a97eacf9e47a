"""spark-submit entry point: see `./spark-submit.sh forecast --help`."""

from lakecart.jobs.forecast import main

if __name__ == "__main__":
    main()
