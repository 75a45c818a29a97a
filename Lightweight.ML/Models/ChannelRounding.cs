using System.Globalization;

namespace Lightweight.ML.Models;

/// <summary>Channel arithmetic shared by the width-scaled models (torchvision's and timm's <c>make_divisible</c>).</summary>
internal static class ChannelRounding
{
    /// <summary>
    /// Rounds <paramref name="v"/> to the nearest multiple of <paramref name="divisor"/> (halves up), at least
    /// <paramref name="divisor"/>, and one step up if rounding lost more than 10 % — torchvision's
    /// <c>_make_divisible</c> and timm's <c>make_divisible</c>.
    /// </summary>
    public static int MakeDivisible(double v, int divisor)
    {
        int rounded = Math.Max(divisor, checked((int)(v + divisor / 2.0)) / divisor * divisor);
        return rounded < 0.9 * v ? rounded + divisor : rounded;
    }

    /// <summary>
    /// The width multiplier as the decimal the caller wrote (1.3f → 1.3, not 1.2999999523), so channel counts
    /// computed from it equal those of the Python reference, which multiplies in double precision.
    /// </summary>
    public static double DecimalWidth(float width)
        => double.Parse(width.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
