"""spark-submit entry point: see `./spark-submit.sh customers --help`."""

from lakecart.jobs.customers import main

if __name__ == "__main__":
    main()
