!> Helpers shared by the Fortran tests: counted checks, random inputs that are
!> never zero, SPIR-V paths, and executors that must have the validation layer
!> on and quiet (every test runs with it; any message fails the test).
module gpuasync_test_support
    use gpuasync
    use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64
    implicit none
    private
    public :: check, check_status, finish, spirv_path, random_reals, random_ints32, random_ints64, &
        new_executor, finish_executor

    integer :: checks = 0, failures = 0
    character(len=4096) :: spirv_dir = ''

contains

    !> Count one check; print it.
    subroutine check(ok, what)
        logical, intent(in) :: ok
        character(len=*), intent(in) :: what

        checks = checks + 1
        if (ok) then
            print '(a, a)', 'ok   ', what
        else
            failures = failures + 1
            print '(a, a)', 'FAIL ', what
        end if
    end subroutine check

    !> `stat` must equal `want`; a failure must come with a message naming the
    !> procedure and the status.
    subroutine check_status(stat, errmsg, want, what)
        integer, intent(in) :: stat, want
        character(len=*), intent(in) :: errmsg, what

        call check(stat == want, what // ' -> ' // gpuasync_status_name(stat) // ', expected ' // &
            gpuasync_status_name(want) // ' [' // trim(errmsg) // ']')
        if (want /= GPUASYNC_OK) then
            call check(index(errmsg, 'gpuasync: ') == 1 .and. index(errmsg, gpuasync_status_name(want)) > 0 &
                .and. len_trim(errmsg) > len('gpuasync: ') + len(gpuasync_status_name(want)) + 8, &
                '  with a message: ' // trim(errmsg))
        end if
    end subroutine check_status

    !> Print the summary and stop with the right exit status.
    subroutine finish(program_name)
        character(len=*), intent(in) :: program_name

        print '(a, a, i0, a, i0, a)', program_name, ': ', checks, ' checks, ', failures, ' failed'
        if (failures /= 0) error stop 1
    end subroutine finish

    !> spirv/<name>.spv, from the directory given as the first argument.
    function spirv_path(name) result(path)
        character(len=*), intent(in) :: name
        character(len=:), allocatable :: path

        if (spirv_dir == '') then
            call get_command_argument(1, spirv_dir)
            if (spirv_dir == '') spirv_dir = 'spirv'
        end if
        path = trim(spirv_dir) // '/' // name // '.spv'
    end function spirv_path

    !> Reals of magnitude in [0.5, 2), either sign: never zero, never tiny.
    subroutine random_reals(v)
        real(real64), intent(out) :: v(:)
        real(real64) :: u(size(v)), s(size(v))

        call random_number(u)
        call random_number(s)
        v = merge(-1.0_real64, 1.0_real64, s < 0.5_real64) * (0.5_real64 + 1.5_real64 * u)
    end subroutine random_reals

    !> Nonzero 32-bit integers over the whole range.
    subroutine random_ints32(v)
        integer(int32), intent(out) :: v(:)
        real(real64) :: u(size(v))

        call random_number(u)
        v = int(u * 4294967295.0_real64 - 2147483647.0_real64, int32)
        where (v == 0) v = 12345
    end subroutine random_ints32

    !> Nonzero 64-bit integers with both halves random.
    subroutine random_ints64(v)
        integer(int64), intent(out) :: v(:)
        integer(int32) :: hi(size(v)), lo(size(v))

        call random_ints32(hi)
        call random_ints32(lo)
        v = ior(ishft(int(hi, int64), 32), iand(int(lo, int64), 4294967295_int64))
    end subroutine random_ints64

    !> An executor with the validation layer, which must be on and quiet.
    subroutine new_executor(ex)
        type(gpuasync_executor), intent(out) :: ex
        logical :: enabled
        integer(int64) :: messages

        call ex%create(validation=.true.)
        call ex%validation(enabled, messages)
        call check(enabled, 'the validation layer is on for ' // ex%device_name())
        call check(messages == 0, 'a new executor has no validation messages')
        if (.not. enabled) then
            call finish('validation is required for every test')
            error stop 1
        end if
    end subroutine new_executor

    !> The validation layer stayed quiet; destroy.
    subroutine finish_executor(ex)
        type(gpuasync_executor), intent(inout) :: ex
        logical :: enabled
        integer(int64) :: messages

        call ex%validation(enabled, messages)
        call check(enabled .and. messages == 0, 'validation on and no messages over the executor''s life')
        call ex%destroy()
    end subroutine finish_executor
end module gpuasync_test_support
